import Foundation
import SSHKit
import SwockPKI
import SwockRemote
import SwockStore

/// The one place a machine's server certificate is issued and installed: on the host (for
/// dockerd, under `EngineConfigRenderer.remoteDir`) and in the machine's directory (with the
/// CA and client certificate a docker client needs). Used by create/provision and
/// regenerate-certs.
public struct ServerCertificates: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// The names a machine's server certificate covers: only names the operator gave — its
    /// address, the `--hostname` it was provisioned with, then `--tls-san` values — and, for a
    /// machine behind jump hosts only, 127.0.0.1 (the docker CLI reaches it at a local forward and
    /// can only verify that name; `Store.dockerCertPath` makes that safe). Case-insensitively
    /// unique, in that order. Nothing the host reports (its `hostname` output, `host.hostname` in
    /// the record) goes in: all machines share one CA, so a name a host could choose would let it
    /// pass for another machine; and no loopback name where it is not needed, for the same reason.
    public static func subjectAltNames(_ config: MachineConfig) -> [String] {
        var sans = [config.address]
        if let h = config.tls.hostname, !h.isEmpty { sans.append(h) }
        if config.isBehindJumpHosts { sans.append("127.0.0.1") }
        sans += config.tls.extraSANs
        var seen = Set<String>()
        return sans.filter { seen.insert($0.lowercased()).inserted }
    }

    /// True when `summary` covers exactly `sans` (IPs compared as bytes, DNS names without
    /// case): no name missing and none more (a stored certificate with a name the host once
    /// chose is not kept).
    public static func coversExactly(_ summary: CertificateSummary, _ sans: [String]) -> Bool {
        let want = sans.map(CertificateOverlap.key), have = (summary.ipAddresses + summary.dnsNames).map(CertificateOverlap.key)
        guard !want.contains(nil), !have.contains(nil) else { return false }
        return Set(want.compactMap { $0 }) == Set(have.compactMap { $0 })
    }

    /// Issues (or, with `reuse`, keeps a stored one that is signed by the current CA, covers
    /// exactly the names it should and is good for 30 more days) and installs it on the host and in the store.
    /// Returns the machine's TLS settings describing what is now in place.
    public func install(
        for config: MachineConfig, material: Store.ClientMaterial, ssh: any RemoteHost,
        reuse: Bool
    ) async throws -> TLSSettings {
        let keyType = (try? KeyType(cliName: config.tls.keyType)) ?? KeyType(rawValue: config.tls.keyType) ?? .ecdsaP256
        let sans = Self.subjectAltNames(config)
        let name = config.name

        var pair: (cert: String, key: String)?
        if reuse, let pem = try? store.readMachineFile(name, "server.pem"), let key = try? store.readMachineFile(name, "server-key.pem"),
            material.ca.verify(certificatePEM: pem), PEMKeyPair(certificatePEM: pem, privateKeyPEM: key).keyMatchesCertificate,
            let summary = try? CertificateSummary(pem: pem),
            Self.coversExactly(summary, sans), !summary.expires(within: 30 * 86400, now: Date())
        {
            pair = (pem, key)
        }
        let (serverPEM, serverKeyPEM): (String, String)
        if let pair {
            (serverPEM, serverKeyPEM) = pair
        } else {
            let issued = try material.ca.issueServerCertificate(commonName: name, subjectAltNames: sans, keyType: keyType)
            (serverPEM, serverKeyPEM) = (issued.certificatePEM, issued.privateKeyPEM)
        }

        // The host first: a failure there leaves the store's copies matching the daemon.
        let remote = EngineConfigRenderer.remoteDir
        try await ssh.installAsRoot([
            RootFile("\(remote)/ca.pem", Data(material.caPEM.utf8), mode: 0o644),
            RootFile("\(remote)/server.pem", Data(serverPEM.utf8), mode: 0o644),
            RootFile("\(remote)/server-key.pem", Data(serverKeyPEM.utf8), mode: 0o600),
        ])

        // The store's copies, with what a docker client needs (DOCKER_CERT_PATH), as one group:
        // all written before any is renamed into place (a pair is never half old, half new
        // unless the process dies between two renames; then reuse above sees the mismatch).
        // A machine behind jump hosts: the docker CLI's copies trust this certificate alone (`dockerCertPath`).
        let dir = store.machineDir(name)
        var files: [(path: String, data: Data)] = [
            (dir + "/server-key.pem", Data(serverKeyPEM.utf8)), (dir + "/server.pem", Data(serverPEM.utf8)),
            (dir + "/ca.pem", Data(material.caPEM.utf8)), (dir + "/key.pem", Data(material.clientKeyPEM.utf8)),
            (dir + "/cert.pem", Data(material.clientCertPEM.utf8)),
        ]
        if config.isBehindJumpHosts {
            try Store.makeDirectory(store.dockerCertPath(config))
            files += store.pinnedTLSFiles(
                name, serverPEM: serverPEM, clientCertPEM: material.clientCertPEM, clientKeyPEM: material.clientKeyPEM)
        }
        try AtomicFile.write(files)

        let summary = try CertificateSummary(pem: serverPEM)
        var tls = config.tls
        tls.serverSANs = sans
        tls.serverNotBefore = summary.notBefore
        tls.serverNotAfter = summary.notAfter
        tls.caFingerprint = try CertificateSummary(pem: material.caPEM).sha256Fingerprint
        return tls
    }
}
