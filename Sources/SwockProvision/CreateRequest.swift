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
    /// The host key must have one of these `SHA256:...` fingerprints (`--ssh-host-key-fingerprint`).
    public var hostKeyFingerprints: [String] = []
    /// An OpenSSH known_hosts file with the expected keys of the host and its jump hosts
    /// (`--ssh-known-hosts`).
    public var knownHostsFile: String?
    /// The driver that made the host (`create -d NAME`) and its settings, kept in the record.
    public var driver: String = "generic"
    public var driverOptions: DriverOptions?
    /// A fleet file's driver options as `create -d NAME` words (`--url=tcp://...`), parsed
    /// against the driver's flags when the machine is created.
    public var driverFlagWords: [String] = []

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
        for fp in hostKeyFingerprints where HostKeyFingerprint.normalized(fp) == nil {
            throw bad("--ssh-host-key-fingerprint \"\(fp)\": expected SHA256: and 43 base64 characters, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the host")
        }
        if hostKeyPolicy == .strict && hostKeyFingerprints.isEmpty && knownHostsFile == nil {
            throw bad("--ssh-host-key strict needs the expected host key: give --ssh-host-key-fingerprint SHA256:... or --ssh-known-hosts FILE (or use accept-new)")
        }
        if hostKeyPolicy == .strict && !proxyJump.isEmpty && knownHostsFile == nil {
            throw bad("--ssh-host-key strict with --generic-ssh-proxy-jump needs the jump hosts' keys too: give them in --ssh-known-hosts FILE")
        }
    }

    /// The keys `--ssh-known-hosts` gives for the host and its jump hosts, as the create's first
    /// known_hosts (nil without the flag). Refused when the file has no key for the host, or,
    /// with strict checking, for a jump host.
    func expectedKnownHosts() throws -> Data? {
        func bad(_ why: String) -> ProvisionError { ProvisionError(machine: name, step: .checkFlags, reason: why, resumable: false) }
        guard let file = knownHostsFile else { return nil }
        let path = (file as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw bad("--ssh-known-hosts \(file): \(FileManager.default.fileExists(atPath: path) ? "cannot read it" : "no such file")")
        }
        let target = KnownHostsFile.label(host: address, port: sshPort)
        let hops = proxyJump.map { KnownHostsFile.label(host: $0.host, port: $0.port) }
        let found = KnownHostsFile.entries(in: String(decoding: data, as: UTF8.self), for: [target] + hops)
        guard found[target] != nil else {
            throw bad("--ssh-known-hosts \(file) has no key for \(target) (plain or hashed); add the host's key (e.g. from its /etc/ssh/ssh_host_*_key.pub, checked out of band) under that name")
        }
        if hostKeyPolicy == .strict, let missing = hops.first(where: { found[$0] == nil }) {
            throw bad("--ssh-known-hosts \(file) has no key for the jump host \(missing), and --ssh-host-key is strict; add its key under that name")
        }
        return Data((([target] + hops).flatMap { found[$0] ?? [] }.joined(separator: "\n") + "\n").utf8)
    }
}
