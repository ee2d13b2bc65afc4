import SSHKit
import SwockPKI

/// Everything `create --driver generic` was asked for.
public struct CreateRequest: Sendable {
    public var name: String
    public var address: String
    public var sshUser: String = "root"
    public var sshPort: Int = 22
    /// A private key file; nil means the agent, then the default keys (or the password).
    public var sshKeyPath: String?
    public var sshKeyPassphrase: String?
    /// Bastions to go through, first hop first (`--generic-ssh-proxy-jump`).
    public var proxyJump: [JumpHost] = []
    /// For hosts that only take a password: used once to install a generated key.
    public var sshPassword: String?
    /// The password sudo asks for (kept in the store, 0600, for later root commands).
    public var sudoPassword: String?
    public var engine = EngineSettings()
    public var extraSANs: [String] = []
    public var keyType: KeyType = .ecdsaP256
    public var hostname: String?
    public var labels: [String: String] = [:]
    public var hostKeyPolicy: HostKeyPolicy = .acceptNew
    /// The host key must have one of these `SHA256:...` fingerprints (`--ssh-host-key-fingerprint`).
    public var hostKeyFingerprints: [String] = []
    /// An OpenSSH known_hosts file with the expected keys of the host and its jump hosts
    /// (`--ssh-known-hosts`).
    public var knownHostsFile: String?

    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }
}
