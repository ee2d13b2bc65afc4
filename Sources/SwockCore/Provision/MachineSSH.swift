import Foundation
import Logging
import SSHKit

/// Opens SSH sessions to machines of the store, with the machine's pinned host key.
public struct MachineSSH: Sendable {
    public let store: Store
    public var connectTimeout: Duration
    public var logger: Logger

    public init(store: Store, connectTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "swock.ssh")) {
        self.store = store
        self.connectTimeout = connectTimeout
        self.logger = logger
    }

    /// The auth methods a record calls for. An encrypted key's passphrase comes from
    /// $SWOCK_SSH_KEY_PASSPHRASE (never stored).
    public func authMethods(for ssh: SSHSettings, password: String? = nil) -> [SSHAuthMethod] {
        var methods: [SSHAuthMethod] = []
        switch ssh.authMode {
        case .key, .generatedKey:
            if let k = ssh.keyPath {
                methods.append(.privateKeyFile(path: store.resolve(k),
                                               passphrase: ProcessInfo.processInfo.environment["SWOCK_SSH_KEY_PASSPHRASE"]))
            }
        case .agentOrDefaultKeys:
            methods += [.agent, .defaultKeys]
        }
        if let password { methods.append(.password(password)) }
        return methods
    }

    public func options(for config: MachineConfig, policy: HostKeyPolicy = .strict, password: String? = nil) -> SSHOptions {
        SSHOptions(knownHostsPath: store.resolve(config.ssh.knownHostsPath), hostKeyPolicy: policy,
                   auth: authMethods(for: config.ssh, password: password), connectTimeout: connectTimeout,
                   logger: logger)
    }

    /// Connects to a machine of the store. Its host key must match the pinned one; a record with
    /// nothing pinned yet (a create that stopped early) pins on this first contact.
    public func connect(_ config: MachineConfig) async throws -> SSHSession {
        let kh = store.resolve(config.ssh.knownHostsPath)
        let pinned = (try? String(contentsOfFile: kh, encoding: .utf8))?.contains(where: { !$0.isWhitespace }) ?? false
        return try await SSHSession.connect(
            to: SSHTarget(host: config.address, port: config.ssh.port, user: config.ssh.user),
            options: options(for: config, policy: pinned ? .strict : .acceptNew))
    }
}
