import Foundation
import Logging
import SSHKit
import SwockStore
import SwockSupport

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
        switch ssh.authMode {
        case .key, .generatedKey:
            let methods = Self.authMethods(
                keyPath: ssh.keyPath.map(store.resolve),
                passphrase: ProcessInfo.processInfo.environment["SWOCK_SSH_KEY_PASSPHRASE"], password: password,
                agentAndDefaults: false)
            return ssh.identitiesOnly == false ? Self.withAgentAfterKey(methods) : methods
        case .agentOrDefaultKeys:
            return Self.authMethods(keyPath: nil, passphrase: nil, password: password, agentAndDefaults: true)
        }
    }

    /// The auth methods for a key file (when given), else the agent and default keys (unless
    /// only a password is to be tried), then the password.
    public static func authMethods(
        keyPath: String?, passphrase: String?, password: String?,
        agentAndDefaults: Bool? = nil
    ) -> [SSHAuthMethod] {
        var methods: [SSHAuthMethod] = []
        if let keyPath {
            methods.append(.privateKeyFile(path: keyPath, passphrase: passphrase))
        } else if agentAndDefaults ?? (password == nil) {
            methods += [.agent, .defaultKeys]
        }
        if let password { methods.append(.password(password)) }
        return methods
    }

    /// An IdentityFile without `IdentitiesOnly yes` (~/.ssh/config): the agent after the key file.
    public static func withAgentAfterKey(_ methods: [SSHAuthMethod]) -> [SSHAuthMethod] {
        guard let i = methods.firstIndex(where: { if case .privateKeyFile = $0 { return true } else { return false } }) else {
            return methods
        }
        var m = methods
        m.insert(.agent, at: i + 1)
        return m
    }

    public func options(for config: MachineConfig, policy: HostKeyPolicy = .strict, password: String? = nil) -> SSHOptions {
        var o = SSHOptions(
            knownHostsPath: store.resolve(config.ssh.knownHostsPath), hostKeyPolicy: policy,
            auth: authMethods(for: config.ssh, password: password), connectTimeout: connectTimeout,
            logger: logger)
        o.proxyJump = (config.ssh.proxyJump ?? []).map { $0.target(defaultUser: config.ssh.user) }
        return o
    }

    /// Connects to a machine of the store. Its host key must match the pinned one; a record with
    /// nothing pinned yet (a create that stopped early) pins on this first contact, a key with one
    /// of the fingerprints create was given when it was given some. With `budget`, the whole
    /// connect (handshake, auth, retries) ends within it.
    public func connect(_ config: MachineConfig, budget: Duration? = nil) async throws -> SSHSession {
        guard config.hasSSH else { throw NoSSH(machine: config.name, driver: config.driver) }
        let kh = store.resolve(config.ssh.knownHostsPath)
        let pinned = (try? String(contentsOfFile: kh, encoding: .utf8))?.contains(where: { !$0.isWhitespace }) ?? false
        var o = options(for: config, policy: pinned ? .strict : .acceptNew)
        if !pinned { o.expectedHostKeys = config.ssh.expectedHostKeys ?? [] }
        let session = try await connect(
            SSHTarget(host: config.address, port: config.ssh.port, user: config.ssh.user), options: o, budget: budget)
        if let pw = FileManager.default.contents(atPath: store.resolve(Store.sudoPasswordPath(config.name))) {
            session.useSudoPassword(String(decoding: pw, as: UTF8.self))
        }
        return session
    }

    /// Connects to a host that has no record yet (create's pre-checks), pinning its key into
    /// `knownHostsPath` by `policy` (or because it has one of `expectedHostKeys`).
    public func connect(
        _ target: SSHTarget, knownHostsPath: String, policy: HostKeyPolicy, auth: [SSHAuthMethod],
        proxyJump: [JumpHost] = [], expectedHostKeys: [String] = []
    ) async throws -> SSHSession {
        var o = SSHOptions(
            knownHostsPath: knownHostsPath, hostKeyPolicy: policy, auth: auth,
            connectTimeout: connectTimeout, logger: logger)
        o.proxyJump = proxyJump.map { $0.target(defaultUser: target.user) }
        o.expectedHostKeys = expectedHostKeys
        return try await connect(target, options: o, budget: nil)
    }

    /// The one place sessions to machines are opened.
    private func connect(_ target: SSHTarget, options: SSHOptions, budget: Duration?) async throws -> SSHSession {
        var options = options
        if let budget {
            options.connectTimeout = min(budget, connectTimeout)
            options.overallConnectDeadline = budget
            options.ioTimeout = min(options.ioTimeout, budget + .seconds(1))
        }
        return try await SSHSession.connect(to: target, options: options)
    }
}

/// The machine has no SSH (`create -d none` adopted a Docker endpoint): what needs a shell on
/// the host cannot be done.
public struct NoSSH: CodedError, Sendable, Equatable {
    public var code: ErrorCode { "remote.no-ssh" }
    public var machine: String
    public var driver: String
    public init(machine: String, driver: String) {
        self.machine = machine
        self.driver = driver
    }
    public var description: String {
        "machine \"\(machine)\" has no SSH (driver \(driver): an adopted Docker endpoint)"
    }
}
