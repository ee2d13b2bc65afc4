import Foundation
import SwockStore

/// `generic`: a server someone else made, reached over SSH. The driver owns nothing; the
/// lifecycle verbs act on the engine, as they always did.
public struct GenericDriver: MachineDriver {
    public let config: MachineConfig

    public init(config: MachineConfig) { self.config = config }

    public var name: String { "generic" }
    public var hostOwnership: HostOwnership { .external }

    public func preCreateCheck() async throws {}
    public func create() async throws -> CreatedHost {
        CreatedHost(address: config.address, ssh: try await sshAccess(), options: options())
    }
    public func remove() async throws {}
    public func start() async throws { throw DriverError.notOwned(driver: name, operation: "start") }
    public func stop() async throws { throw DriverError.notOwned(driver: name, operation: "stop") }
    public func restart() async throws { throw DriverError.notOwned(driver: name, operation: "restart") }
    public func kill() async throws { throw DriverError.notOwned(driver: name, operation: "kill") }
    /// Unknown without asking the host: the caller probes SSH and the engine.
    public func state() async throws -> DriverState { .none }
    public func sshAccess() async throws -> DriverSSHAccess? {
        DriverSSHAccess(host: config.address, port: config.ssh.port, user: config.ssh.user, keyPath: config.ssh.keyPath)
    }
    public func dockerURL() async throws -> String? { nil }
    public func options() -> DriverOptions { config.driverOptions ?? DriverOptions() }
}
