import Foundation
import Logging
import SSHKit
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
        let unconfigure = initSystem.unconfigure(dockerdPath: config.engine.dockerdPath ?? "dockerd")
        try await ssh.runAsRoot("rm -rf \(ShellQuote.quote(EngineConfigRenderer.remoteDir)); \(DaemonJSON.restoreCommand); \(unconfigure)",
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
        try await ssh.run(Self.revokeKeyCommand, stdin: .data(Data(fields[1].utf8)), timeout: .seconds(30))
    }

    /// Scripts/revoke-key.sh: reads the key's base64 blob on stdin and drops every
    /// authorized_keys line that has it as a field (with or without options in front, whatever
    /// the comment).
    static let revokeKeyCommand = Scripts.revokeKey.command()
}
