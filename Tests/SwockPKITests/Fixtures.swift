import Foundation
import SwockPKI

/// A CA plus a client and a server certificate written to a temp dir as ca.pem, cert.pem/key.pem, server.pem/server-key.pem.
struct IssuedSet {
    static let serverSANs = ["127.0.0.1", "10.1.2.3", "::1", "docker-host.example.com", "localhost", "10.1.2.3"]

    let dir: TempDir
    let ca: CertificateAuthority
    let client: PEMKeyPair
    let server: PEMKeyPair

    init(caKey: KeyType, leafKey: KeyType, now: Date = Date()) throws {
        dir = try TempDir()
        ca = try CertificateAuthority.generate(keyType: caKey, now: now)
        client = try ca.issueClientCertificate(keyType: leafKey, now: now)
        server = try ca.issueServerCertificate(
            commonName: "docker-host", subjectAltNames: Self.serverSANs, keyType: leafKey, now: now)
        try dir.write("ca.pem", ca.certificatePEM)
        try dir.write("ca-key.pem", ca.privateKeyPEM)
        try dir.write("cert.pem", client.certificatePEM)
        try dir.write("key.pem", client.privateKeyPEM)
        try dir.write("server.pem", server.certificatePEM)
        try dir.write("server-key.pem", server.privateKeyPEM)
    }

    func openssl(_ args: String..., stdin: String? = nil, timeout: TimeInterval = 30) throws -> ProcessResult {
        try Tool.openssl(args, stdin: stdin, in: dir.url, timeout: timeout)
    }

    func text(_ file: String) throws -> String {
        try openssl("x509", "-in", file, "-noout", "-text").stdout
    }
}

extension String {
    /// The lines of `openssl x509 -text` output following the line containing `header`, trimmed.
    func line(after header: String) -> String? {
        let lines = split(separator: "\n", omittingEmptySubsequences: false)
        guard let i = lines.firstIndex(where: { $0.contains(header) }), i + 1 < lines.count else { return nil }
        return lines[i + 1].trimmingCharacters(in: .whitespaces)
    }
}
