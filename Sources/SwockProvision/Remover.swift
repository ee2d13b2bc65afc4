import Foundation
import Logging
import SSHKit
import SwockEngine
import SwockRemote
import SwockStore

/// `rm`: takes our configuration off the host (drop-in, certificates, daemon.json changes),
/// restarts dockerd on its own unix socket, then removes the local record.
public struct Remover: Sendable {
    public let store: Store
    public var logger: Logger
    public var connectTimeout: Duration = .seconds(10)
    public var unixSocketWait: Duration = .seconds(60)
    /// How the host is reached; nil: `MachineSSH` (tests give scripted hosts).
    package var connectRecord: (@Sendable (MachineConfig) async throws -> any RemoteHost)?

    public init(store: Store, logger: Logger = Logger(label: "swock.rm")) {
        self.store = store
        self.logger = logger
    }

    public struct RemoteCleanupFailed: Error, CustomStringConvertible {
        public var machine: String
        public var reason: String
        public var description: String {
            "rm \(machine): cannot clean the host: \(reason); the record is kept. Fix the cause and retry, or run `swock-machine rm -f \(machine)` to drop the record anyway"
        }
    }

    /// Cleans the host, then removes the record. With `force`, a host that cannot be cleaned
    /// does not keep the record; the returned warning says what was left behind.
    @discardableResult
    public func remove(_ name: String, force: Bool) async throws -> String? {
        let config: MachineConfig
        do {
            config = try store.load(name)
        } catch let e as StoreError {
            // An unreadable record cannot say which host to clean: -f drops it; a missing one stays an error.
            if case .notFound = e { throw e }
            guard force else { throw e }
            try store.remove(name)
            return "the record was unreadable (\(e)); the host was not cleaned"
        }
        var warning: String?
        do {
            try await cleanHost(config)
        } catch {
            guard force else { throw RemoteCleanupFailed(machine: name, reason: "\(error)") }
            warning = "the host \(config.address) was not cleaned (\(error)); our drop-in and certificates may still be there"
        }
        TunnelService(store: store).stop(name)
        try store.remove(name)
        return warning
    }

    func cleanHost(_ config: MachineConfig) async throws {
        let ssh: any RemoteHost
        if let connectRecord {
            ssh = try await connectRecord(config)
        } else {
            ssh = try await MachineSSH(store: store, connectTimeout: connectTimeout, logger: logger).connect(config)
        }
        do {
            try await cleanHost(config, ssh: ssh)
            await ssh.close()
        } catch {
            await ssh.close()
            throw error
        }
    }

    func cleanHost(_ config: MachineConfig, ssh: any RemoteHost) async throws {
        let initSystem = config.initSystem
        try await ssh.runAsRoot("""
            rm -rf \(EngineConfigRenderer.remoteDir); \
            \(DaemonJSON.restoreCommand); \
            \(initSystem.unconfigure(dockerdPath: config.engine.dockerdPath ?? "dockerd"))
            """, timeout: .seconds(180))
        // "rm leaves dockerd on its unix socket": only once it answers there.
        try await EngineReadiness(store: store, within: unixSocketWait).waitForUnixSocket(config, ssh: ssh)
    }
}
