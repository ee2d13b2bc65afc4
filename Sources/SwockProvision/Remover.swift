import Foundation
import Logging
import SSHKit
import SwockDrivers
import SwockEngine
import SwockRemote
import SwockStore
import SwockSupport

/// `rm`: takes our configuration off the host (drop-in, certificates, daemon.json changes),
/// restarts dockerd on its own unix socket, then removes the local record.
public struct Remover: Sendable {
    public let store: Store
    public var logger: Logger
    public var connectTimeout: Duration = .seconds(10)
    public var unixSocketWait: Duration = .seconds(60)
    /// How the host is reached; nil: `MachineSSH` (tests give scripted hosts).
    package var connectRecord: (@Sendable (MachineConfig) async throws -> any RemoteHost)?
    /// Where a record's driver is found (a driver that owns the host removes it).
    public var drivers: DriverRegistry = .standard

    public init(store: Store, logger: Logger = Logger(label: "swock.rm")) {
        self.store = store
        self.logger = logger
    }

    public struct RemoteCleanupFailed: CodedError {
        public var machine: String
        public var reason: String
        public var code: ErrorCode { "provision.remote-cleanup-failed" }
        public var description: String { "rm \(machine): cannot clean the host: \(reason); the record is kept" }
    }

    /// The host's driver could not remove it (a VM, a plugin's server): kept, with the record.
    public struct DriverRemovalFailed: CodedError {
        public var machine: String
        public var driver: String
        public var underlying: any Error
        public var code: ErrorCode { "provision.driver-removal-failed" }
        public var cause: (any Error)? { underlying }
        public var description: String {
            "rm \(machine): the \(driver) driver could not remove the host: \(underlying); the record is kept"
        }
    }

    /// Cleans the host (or has its driver remove it), then removes the record. With `force`, a host that cannot be cleaned
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
        if !config.hasSSH {
            // An adopted endpoint (none): nothing was put on its host, nothing to take off.
        } else if config.driver != "generic" {
            do {
                let driver = try drivers.resolve(config, store: store)
                if driver.hostOwnership == .owned { try await driver.remove() } else { try await cleanHost(config) }
            } catch {
                guard force else { throw DriverRemovalFailed(machine: name, driver: config.driver, underlying: error) }
                // A create that did not finish reported no address: the host it may have made.
                let host = config.address.isEmpty ? "the host it may have made" : "the host at \(config.address)"
                warning =
                    "the \(config.driver) driver did not remove \(host) (\(error)); it may still exist (driver options: \(Self.optionsText(config))): remove it yourself"
            }
        } else {
            do {
                try await cleanHost(config)
            } catch {
                guard force else { throw RemoteCleanupFailed(machine: name, reason: "\(error)") }
                warning = "the host \(config.address) was not cleaned (\(error)); our drop-in and certificates may still be there"
            }
        }
        TunnelService(store: store).stop(name)
        try store.remove(name)
        return warning
    }

    /// The record's driver options, as one line of JSON (what the driver knew of the host).
    static func optionsText(_ config: MachineConfig) -> String {
        guard let o = config.driverOptions, let data = try? JSONEncoder().encode(o) else { return "none" }
        return String(decoding: data, as: UTF8.self)
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
        let unconfigure = initSystem.unconfigure(dockerdPath: config.engine.dockerdPath ?? "dockerd")
        try await ssh.runAsRoot(
            "rm -rf \(ShellQuote.quote(EngineConfigRenderer.remoteDir)); \(DaemonJSON.restoreCommand); \(unconfigure)",
            timeout: .seconds(180))
        // "rm leaves dockerd on its unix socket": only once it answers there.
        try await EngineReadiness(store: store, within: unixSocketWait).waitForUnixSocket(config, ssh: ssh)
        // Last, as the session logged in with it: the key create generated stops logging in.
        try await revokeGeneratedKey(config, ssh: ssh)
    }

    /// Takes the key `create --generic-ssh-password` generated and authorized off the login
    /// user's authorized_keys, so that a copy of it (an old export archive) no longer logs in.
    /// Only the lines holding that key go (it was made for this machine, no other line can hold
    /// it); the rest of the file, its mode and its owner stay: the new contents are written next
    /// to it from a `cp -p` copy and renamed over it (a symlinked file: its target).
    private func revokeGeneratedKey(_ config: MachineConfig, ssh: any RemoteHost) async throws {
        guard config.ssh.authMode == .generatedKey, let keyPath = config.ssh.keyPath else { return }
        let line = try SSHKeyGenerator.publicKeyLine(privateKeyPath: store.resolve(keyPath), comment: "")
        let fields = line.split(separator: " ")
        guard fields.count >= 2 else { return }
        try await ssh.run(Self.revokeKeyCommand, stdin: .data(Data(fields[1].utf8)), timeout: SSHOptions.shortCommandTimeout)
    }

    /// Scripts/revoke-key.sh: reads the key's base64 blob on stdin and drops every
    /// authorized_keys line that has it as a field (with or without options in front, whatever
    /// the comment).
    static let revokeKeyCommand = Scripts.revokeKey.command()
}
