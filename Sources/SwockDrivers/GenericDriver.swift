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

/// `create -d generic`: its flags are the create command's own `--generic-*` options (parsed by
/// ArgumentParser, with their GENERIC_* variables); they are described here for help and for
/// the refusal that lists a driver's flags.
public struct GenericKind: DriverKind {
    public init() {}
    public var name: String { "generic" }
    public var summary: String { "an existing Linux server, reached over SSH (nothing is made; rm leaves the server)" }

    public func createFlags() async throws -> [DriverFlag] { Self.flags }

    public static let flags: [DriverFlag] = [
        DriverFlag(name: "generic-ip-address", usage: "IP address or host name of the server", envVar: "GENERIC_IP_ADDRESS", kind: .string),
        DriverFlag(name: "generic-ssh-user", usage: "SSH user", envVar: "GENERIC_SSH_USER", kind: .string, defaultValue: .string("root")),
        DriverFlag(name: "generic-ssh-key", usage: "SSH private key file", envVar: "GENERIC_SSH_KEY", kind: .string),
        DriverFlag(name: "generic-ssh-port", usage: "SSH port", envVar: "GENERIC_SSH_PORT", kind: .int, defaultValue: .int(22)),
        DriverFlag(
            name: "generic-engine-port", usage: "TCP port dockerd listens on", envVar: "GENERIC_ENGINE_PORT", kind: .int,
            defaultValue: .int(2376)),
        DriverFlag(name: "generic-ssh-proxy-jump", usage: "bastions, first hop first, as ssh -J", kind: .string),
        DriverFlag(name: "generic-ssh-password-env", usage: "environment variable holding the SSH password", kind: .string),
        DriverFlag(name: "generic-ssh-password-stdin", usage: "read the SSH password from stdin", kind: .bool),
        DriverFlag(name: "generic-sudo-password-env", usage: "environment variable holding the sudo password", kind: .string),
        DriverFlag(name: "generic-sudo-password-stdin", usage: "read the sudo password from stdin", kind: .bool),
    ]

    /// A generic machine's host is the address it was given: create keeps its own path (the
    /// `--generic-*` options), so this only serves records.
    public func driverForCreate(machine: String, flags: DriverFlagValues, store: Store) async throws -> any MachineDriver {
        guard let address = flags.string("generic-ip-address") else {
            throw DriverError.missingFlag(driver: name, flag: "--generic-ip-address", why: "the IP address or host name of the server")
        }
        let ssh = SSHSettings(
            user: flags.string("generic-ssh-user") ?? "root", port: flags.int("generic-ssh-port") ?? 22,
            authMode: flags.string("generic-ssh-key") == nil ? .agentOrDefaultKeys : .key,
            keyPath: flags.string("generic-ssh-key"), knownHostsPath: Store.knownHostsPath(machine))
        return GenericDriver(
            config: MachineConfig(
                name: machine, address: address, ssh: ssh,
                engine: EngineSettings(port: flags.int("generic-engine-port") ?? 2376),
                tls: TLSSettings(keyType: "ecdsa")))
    }

    public func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver { GenericDriver(config: config) }
}
