import Foundation
import Logging

/// Where to connect.
public struct SSHTarget: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String

    public init(host: String, port: Int = 22, user: String = "root") {
        // Accept "[::1]" as well as "::1".
        if host.hasPrefix("["), host.hasSuffix("]") {
            self.host = String(host.dropFirst().dropLast())
        } else {
            self.host = host
        }
        self.port = port
        self.user = user
    }

    public var description: String { "\(user)@\(host):\(port)" }
}

/// How to react to the server's host key.
public enum HostKeyPolicy: String, Sendable, Codable, CaseIterable {
    /// The key must already be in the known_hosts file.
    case strict
    /// An unknown host is recorded on first contact; afterwards the key is pinned.
    case acceptNew = "accept-new"
}

/// `SHA256:...` host key fingerprints as OpenSSH prints them (`ssh-keygen -lf`).
public enum HostKeyFingerprint {
    /// The fingerprint without base64 padding (OpenSSH prints none; some tools add `=`), or nil
    /// when it is not a SHA256 fingerprint.
    public static func normalized(_ text: String) -> String? {
        guard text.hasPrefix("SHA256:") else { return nil }
        var b64 = String(text.dropFirst("SHA256:".count))
        while b64.hasSuffix("=") { b64.removeLast() }
        guard b64.count == 43,
            b64.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "+" || $0 == "/") })
        else {
            return nil
        }
        return "SHA256:" + b64
    }
}

/// One way to authenticate, tried in the order given.
public enum SSHAuthMethod: Sendable, Hashable {
    /// A private key file, with its passphrase when it is encrypted.
    case privateKeyFile(path: String, passphrase: String? = nil)
    /// The keys held by the ssh-agent at $SSH_AUTH_SOCK.
    case agent
    /// ~/.ssh/id_ed25519, id_ecdsa, id_rsa (and the agent), as `ssh` would.
    case defaultKeys
    /// A password (also answers keyboard-interactive prompts).
    case password(String)

    var label: String {
        switch self {
        case .privateKeyFile(let path, _): return "publickey (\(path))"
        case .agent: return "publickey (agent)"
        case .defaultKeys: return "publickey (default keys)"
        case .password: return "password"
        }
    }
}

public struct SSHOptions: Sendable {
    /// The deadline of a short remote command (the root-access check, a key revoked, a file
    /// read or replaced, a service poked): generous, because on a loaded host such a command
    /// was seen to take over 30 s (why was not found); as long as the host probe's
    /// (`ProvisionTimeouts.probe`).
    public static let shortCommandTimeout: Duration = .seconds(60)

    /// Bounds the TCP connect and every single blocking libssh wait during the handshake.
    public var connectTimeout: Duration
    /// Bounds connect + handshake + authentication as a whole.
    public var overallConnectDeadline: Duration
    /// Bounds every blocking libssh wait after connecting (not a command deadline).
    public var ioTimeout: Duration
    public var hostKeyPolicy: HostKeyPolicy
    /// The known_hosts file to check against and (with accept-new) record into.
    public var knownHostsPath: String
    public var auth: [SSHAuthMethod]
    /// A peer that stops answering (host down, network cut) is declared gone after about this
    /// long, even while a command is silent: TCP keepalives plus TCP_USER_TIMEOUT on the socket.
    public var deadPeerTimeout: Duration
    /// libssh reads ~/.ssh/config silently by default; we do not unless asked.
    public var readUserConfig: Bool
    /// Jump hosts to go through, first hop first (`ssh -J a,b`); each is verified against
    /// `knownHostsPath` with `hostKeyPolicy` and authenticated with `jumpHostAuth`.
    public var proxyJump: [SSHTarget] = []
    /// The target's host key must have one of these `SHA256:...` fingerprints (empty: no such
    /// demand). A matching key unknown to `knownHostsPath` is recorded there whatever
    /// `hostKeyPolicy` says, so first contact need not be trust-on-first-use. Not applied to
    /// jump hosts (they are checked against `knownHostsPath`).
    public var expectedHostKeys: [String] = []

    /// How a jump host is authenticated: the target's key methods and then the agent and the
    /// default keys, never the target's password (a bastion must not learn it).
    public var jumpHostAuth: [SSHAuthMethod] {
        var methods = auth.filter { if case .password = $0 { return false } else { return true } }
        for m in [SSHAuthMethod.agent, .defaultKeys] where !methods.contains(m) { methods.append(m) }
        return methods
    }
    public var logger: Logger

    public init(
        knownHostsPath: String,
        hostKeyPolicy: HostKeyPolicy = .acceptNew,
        auth: [SSHAuthMethod] = [.agent, .defaultKeys],
        connectTimeout: Duration = .seconds(10),
        overallConnectDeadline: Duration? = nil,
        ioTimeout: Duration = .seconds(60),
        deadPeerTimeout: Duration = .seconds(30),
        readUserConfig: Bool = false,
        logger: Logger = Logger(label: "swock.ssh")
    ) {
        self.knownHostsPath = knownHostsPath
        self.hostKeyPolicy = hostKeyPolicy
        self.auth = auth
        self.connectTimeout = connectTimeout
        self.overallConnectDeadline = overallConnectDeadline ?? connectTimeout * 3
        self.ioTimeout = ioTimeout
        self.deadPeerTimeout = deadPeerTimeout
        self.readUserConfig = readUserConfig
        self.logger = logger
    }
}
