import Foundation
import SSHKit
import SwockPKI
import SwockStore

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

    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }
}

extension CreateRequest {
    /// The request's own values, checked before any host is contacted ("check flags").
    func validate() throws {
        func bad(_ why: String) -> ProvisionError { ProvisionError(machine: name, step: .checkFlags, reason: why, resumable: false) }
        guard !address.isEmpty else { throw bad("--generic-ip-address is required") }
        guard address.range(of: "^[A-Za-z0-9.:_-]+$", options: .regularExpression) != nil else {
            throw bad("--generic-ip-address \"\(address)\" is not an IP address or host name")
        }
        guard (1...65535).contains(sshPort) else { throw bad("--generic-ssh-port \(sshPort) is out of range 1-65535") }
        guard (1...65535).contains(engine.port) else { throw bad("--generic-engine-port \(engine.port) is out of range 1-65535") }
        if let k = sshKeyPath {
            let path = (k as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw bad("--generic-ssh-key \(k): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
            }
        }
        for san in extraSANs {
            do { _ = try SubjectAltName.classify(san) } catch { throw bad("--tls-san \"\(san)\": \(error)") }
        }
        for (k, _) in labels where k.isEmpty || k.contains("=") {
            throw bad("--label \"\(k)\": expected key=value")
        }
    }
}
