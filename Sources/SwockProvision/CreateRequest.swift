import Foundation
import SSHKit
import SwockPKI
import SwockStore
import SwockSupport

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
    /// Where other machines reach the host, when not at `address` (the driver says).
    public var peerAddress: String?
    /// A fleet file's driver options as `create -d NAME` words (`--url=tcp://...`), parsed
    /// against the driver's flags when the machine is created.
    public var driverFlagWords: [String] = []
    /// With `sshKeyPath` from ~/.ssh/config's IdentityFile: false unless it said `IdentitiesOnly yes`
    /// (then the agent is tried after the key); nil: the key only.
    public var identitiesOnly: Bool?
    /// The ~/.ssh/config `Host` alias that gave the address (and maybe more); nil without one.
    public var sshConfigHost: String?
    /// `--provision-script FILE` (repeatable): run as root, in order, after the engine answers.
    public var provisionScripts: [ProvisionScriptSource] = []

    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }
}

extension CreateRequest {
    /// The request's own values, checked before any host is contacted ("check flags").
    func validate() throws {
        func bad(_ why: CreateProblem) -> ProvisionError {
            ProvisionError(machine: name, step: .checkFlags, reason: why.description, resumable: false, cause: why)
        }
        guard !address.isEmpty else { throw bad(.missingAddress) }
        guard NameCharacters.host.accepts(address) else {
            throw bad(.badAddress(address))
        }
        guard (1...65535).contains(sshPort) else { throw bad(.sshPortOutOfRange(sshPort)) }
        guard (1...65535).contains(engine.port) else { throw bad(.enginePortOutOfRange(engine.port)) }
        if let k = sshKeyPath {
            let path = (k as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw bad(.sshKeyUnreadable(path: k, exists: FileManager.default.fileExists(atPath: path)))
            }
        }
        for san in extraSANs {
            do { _ = try SubjectAltName.classify(san) } catch { throw bad(.badSAN(san, reason: "\(error)")) }
        }
        for (k, _) in labels where k.isEmpty || k.contains("=") {
            throw bad(.badLabel(k))
        }
        for fp in hostKeyFingerprints where HostKeyFingerprint.normalized(fp) == nil {
            throw bad(.badFingerprint(fp))
        }
        if hostKeyPolicy == .strict && hostKeyFingerprints.isEmpty && knownHostsFile == nil {
            throw bad(.strictNeedsExpectedKey)
        }
        if hostKeyPolicy == .strict && !proxyJump.isEmpty && knownHostsFile == nil {
            throw bad(.strictNeedsJumpHostKeys)
        }
    }

    /// The keys `knownHostsFile` gives for the host and its jump hosts, as the create's first
    /// known_hosts (nil without one). Refused when the file has no key for the host, or,
    /// with strict checking, for a jump host.
    func expectedKnownHosts() throws -> Data? {
        func bad(_ why: CreateProblem) -> ProvisionError {
            ProvisionError(machine: name, step: .checkFlags, reason: why.description, resumable: false, cause: why)
        }
        guard let file = knownHostsFile else { return nil }
        let path = (file as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw bad(.knownHostsUnreadable(file: file, exists: FileManager.default.fileExists(atPath: path)))
        }
        let target = KnownHostsFile.label(host: address, port: sshPort)
        let hops = proxyJump.map { KnownHostsFile.label(host: $0.host, port: $0.port) }
        let found = KnownHostsFile.entries(in: String(decoding: data, as: UTF8.self), for: [target] + hops)
        guard found[target] != nil else {
            throw bad(.knownHostsLacksHost(file: file, host: target))
        }
        if hostKeyPolicy == .strict, let missing = hops.first(where: { found[$0] == nil }) {
            throw bad(.knownHostsLacksJumpHost(file: file, host: missing))
        }
        return Data((([target] + hops).flatMap { found[$0] ?? [] }.joined(separator: "\n") + "\n").utf8)
    }
}
