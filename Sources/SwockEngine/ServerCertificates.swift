import Foundation
import SSHKit
import SwockRemote
import SwockPKI
import SwockStore

/// The one place a machine's server certificate is issued and installed: on the host (for
/// dockerd, under `EngineConfigRenderer.remoteDir`) and in the machine's directory (with the
/// CA and client certificate a docker client needs). Used by create/provision and
/// regenerate-certs.
public struct ServerCertificates: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// The names a machine's server certificate covers: its address, its host name, the
    /// loopback names, then `--tls-san` values; case-insensitively unique, in that order.
    public static func subjectAltNames(_ config: MachineConfig, hostname: String?) -> [String] {
        var sans = [config.address]
        if let h = hostname, !h.isEmpty { sans.append(h) }
        sans += ["localhost", "127.0.0.1"] + config.tls.extraSANs
        var seen = Set<String>()
        return sans.filter { seen.insert($0.lowercased()).inserted }
    }

    /// Issues (or, with `reuse`, keeps a stored one that is signed by the current CA, covers
    /// every name and is good for 30 more days) and installs it on the host and in the store.
    /// Returns the machine's TLS settings describing what is now in place.
    public func install(for config: MachineConfig, hostname: String?, material: Store.ClientMaterial, ssh: any RemoteHost,
                        reuse: Bool) async throws -> TLSSettings {
        let keyType = (try? KeyType(cliName: config.tls.keyType)) ?? KeyType(rawValue: config.tls.keyType) ?? .ecdsaP256
        let sans = Self.subjectAltNames(config, hostname: hostname)
        let name = config.name

        var pair: (cert: String, key: String)?
        if reuse, let pem = try? store.readMachineFile(name, "server.pem"), let key = try? store.readMachineFile(name, "server-key.pem"),
           material.ca.verify(certificatePEM: pem), PEMKeyPair(certificatePEM: pem, privateKeyPEM: key).keyMatchesCertificate,
           let summary = try? CertificateSummary(pem: pem),
           sans.allSatisfy({ summary.covers(address: $0) }), !summary.expires(within: 30 * 86400, now: Date()) {
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
        let dir = store.machineDir(name)
        try AtomicFile.write([
            (dir + "/server-key.pem", Data(serverKeyPEM.utf8)), (dir + "/server.pem", Data(serverPEM.utf8)),
            (dir + "/ca.pem", Data(material.caPEM.utf8)), (dir + "/key.pem", Data(material.clientKeyPEM.utf8)),
            (dir + "/cert.pem", Data(material.clientCertPEM.utf8)),
        ])

        let summary = try CertificateSummary(pem: serverPEM)
        var tls = config.tls
        tls.serverSANs = sans
        tls.serverNotBefore = summary.notBefore
        tls.serverNotAfter = summary.notAfter
        tls.caFingerprint = try CertificateSummary(pem: material.caPEM).sha256Fingerprint
        return tls
    }
}
