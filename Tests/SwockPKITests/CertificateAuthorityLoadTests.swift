import Foundation
import SwockPKI
import Testing

@Suite("loading a CA from PEM")
struct CertificateAuthorityLoadTests {
    @Test("round trip: a reloaded CA issues certificates the original verifies", arguments: KeyType.allCases)
    func roundTrip(keyType: KeyType) throws {
        let ca = try CertificateAuthority.generate(keyType: keyType)
        let loaded = try CertificateAuthority(certificatePEM: ca.certificatePEM, privateKeyPEM: ca.privateKeyPEM)
        #expect(loaded.certificatePEM == ca.certificatePEM)
        #expect(loaded.privateKeyPEM == ca.privateKeyPEM)
        let leaf = try loaded.issueServerCertificate(commonName: "h", subjectAltNames: ["10.0.0.9"])
        #expect(ca.verify(certificatePEM: leaf.certificatePEM))
        #expect(loaded.verify(certificatePEM: try ca.issueClientCertificate().certificatePEM))
    }

    @Test("a key that doesn't belong to the certificate is rejected")
    func mismatchedKey() throws {
        let a = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let b = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let r = try CertificateAuthority.generate(keyType: .rsa2048)
        #expect(throws: PKIError.keyDoesNotMatchCertificate) {
            try CertificateAuthority(certificatePEM: a.certificatePEM, privateKeyPEM: b.privateKeyPEM)
        }
        #expect(throws: PKIError.keyDoesNotMatchCertificate) {
            try CertificateAuthority(certificatePEM: a.certificatePEM, privateKeyPEM: r.privateKeyPEM)
        }
    }

    @Test("bad input: garbage PEM, a leaf instead of a CA, an encrypted key")
    func badInput() throws {
        let ca = try CertificateAuthority.generate()
        #expect {
            try CertificateAuthority(certificatePEM: "garbage", privateKeyPEM: ca.privateKeyPEM)
        } throws: { error in
            guard case PKIError.invalidPEM = error else { return false }
            return true
        }
        #expect {
            try CertificateAuthority(
                certificatePEM: ca.certificatePEM, privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        } throws: { error in
            guard case PKIError.invalidPEM = error else { return false }
            return true
        }
        let client = try ca.issueClientCertificate()
        #expect(throws: PKIError.notACertificateAuthority(subject: "CN=swock-machine client")) {
            try CertificateAuthority(certificatePEM: client.certificatePEM, privateKeyPEM: client.privateKeyPEM)
        }

        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("key.pem", ca.privateKeyPEM)
        let enc = try Tool.openssl(["pkcs8", "-topk8", "-in", "key.pem", "-passout", "pass:secret", "-v2", "aes-256-cbc"], in: dir.url)
        #expect(enc.status == 0, "\(enc.output)")
        #expect(enc.stdout.contains("BEGIN ENCRYPTED PRIVATE KEY"))
        #expect(throws: PKIError.encryptedPrivateKey) {
            try CertificateAuthority(certificatePEM: ca.certificatePEM, privateKeyPEM: enc.stdout)
        }
    }

    /// A CA made by openssl (docker-machine style: PKCS#1 RSA or SEC1 EC key) loads and signs verifiable certs.
    @Test(
        "a CA created by openssl loads and issues certificates openssl verifies",
        arguments: [
            ["-newkey", "rsa:2048", "-traditional"],
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ])
    func opensslMadeCA(keyArgs: [String]) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var args = [
            "req", "-x509", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "30", "-subj", "/O=legacy/CN=openssl CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]
        args += keyArgs.filter { $0 != "-traditional" }
        let made = try Tool.openssl(args, in: dir.url)
        try #require(made.status == 0, "\(made.output)")
        var keyPEM = try dir.read("ca-key.pem")
        if keyArgs.contains("-traditional") {
            let trad = try Tool.openssl(["pkey", "-in", "ca-key.pem", "-traditional"], in: dir.url)
            try #require(trad.status == 0, "\(trad.output)")
            keyPEM = trad.stdout
            #expect(keyPEM.contains("BEGIN RSA PRIVATE KEY"))
        } else {
            let sec1 = try Tool.openssl(["ec", "-in", "ca-key.pem"], in: dir.url)
            try #require(sec1.status == 0, "\(sec1.output)")
            keyPEM = sec1.stdout
            #expect(keyPEM.contains("BEGIN EC PRIVATE KEY"))
        }
        let ca = try CertificateAuthority(certificatePEM: try dir.read("ca.pem"), privateKeyPEM: keyPEM)
        let server = try ca.issueServerCertificate(commonName: "h", subjectAltNames: ["192.168.64.5"], keyType: .rsa2048)
        try dir.write("server.pem", server.certificatePEM)
        let r = try Tool.openssl(["verify", "-purpose", "sslserver", "-CAfile", "ca.pem", "server.pem"], in: dir.url)
        #expect(r.status == 0, "\(r.output)")
        #expect(try CertificateSummary(pem: server.certificatePEM).issuer == "CN=openssl CA,O=legacy")
    }

    @Test("bad parameters are rejected with typed errors")
    func badParameters() throws {
        #expect(throws: PKIError.invalidValidity(days: 0)) { try CertificateAuthority.generate(validityDays: 0) }
        #expect(throws: PKIError.invalidCommonName("")) { try CertificateAuthority.generate(commonName: "") }
        let long = String(repeating: "x", count: 65)
        #expect(throws: PKIError.invalidCommonName(long)) { try CertificateAuthority.generate(commonName: long) }
        let ca = try CertificateAuthority.generate()
        #expect(throws: PKIError.missingSubjectAltNames) {
            try ca.issueServerCertificate(commonName: "h", subjectAltNames: [])
        }
        #expect(throws: PKIError.invalidSubjectAltName("300.1.1.1", reason: "not a valid IPv4 address")) {
            try ca.issueServerCertificate(commonName: "h", subjectAltNames: ["10.0.0.1", "300.1.1.1"])
        }
        #expect(throws: PKIError.invalidValidity(days: -1)) { try ca.issueClientCertificate(validityDays: -1) }
    }
}
