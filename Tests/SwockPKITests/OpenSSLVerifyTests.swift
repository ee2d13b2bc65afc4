import Foundation
import SwockPKI
import Testing

/// Certificates checked by the real openssl CLI, for every CA key type × leaf key type.
@Suite("openssl accepts the issued certificates")
struct OpenSSLVerifyTests {
    @Test("openssl verify -CAfile, with and without -purpose", arguments: KeyType.allCases, KeyType.allCases)
    func verifyChain(caKey: KeyType, leafKey: KeyType) throws {
        let set = try IssuedSet(caKey: caKey, leafKey: leafKey)
        defer { set.dir.remove() }

        for file in ["cert.pem", "server.pem"] {
            let r = try set.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", file)
            #expect(r.status == 0, "\(file): \(r.output)")
            #expect(r.stdout.contains("\(file): OK"))
        }
        let client = try set.openssl("verify", "-purpose", "sslclient", "-CAfile", "ca.pem", "cert.pem")
        #expect(client.status == 0, "\(client.output)")
        let server = try set.openssl("verify", "-purpose", "sslserver", "-CAfile", "ca.pem", "server.pem")
        #expect(server.status == 0, "\(server.output)")

        // The EKUs really restrict: each leaf fails the other purpose.
        let clientAsServer = try set.openssl("verify", "-purpose", "sslserver", "-CAfile", "ca.pem", "cert.pem")
        #expect(clientAsServer.status != 0)
        let serverAsClient = try set.openssl("verify", "-purpose", "sslclient", "-CAfile", "ca.pem", "server.pem")
        #expect(serverAsClient.status != 0)

        // The server SANs satisfy openssl's own IP and host checks.
        let ip = try set.openssl("verify", "-CAfile", "ca.pem", "-verify_ip", "10.1.2.3", "server.pem")
        #expect(ip.status == 0, "\(ip.output)")
        let ip6 = try set.openssl("verify", "-CAfile", "ca.pem", "-verify_ip", "::1", "server.pem")
        #expect(ip6.status == 0, "\(ip6.output)")
        let host = try set.openssl("verify", "-CAfile", "ca.pem", "-verify_hostname", "docker-host.example.com", "server.pem")
        #expect(host.status == 0, "\(host.output)")
        let wrongIP = try set.openssl("verify", "-CAfile", "ca.pem", "-verify_ip", "10.1.2.4", "server.pem")
        #expect(wrongIP.status != 0)
    }

    @Test("CA extensions: CA:TRUE critical, keyCertSign+cRLSign critical, SKI", arguments: KeyType.allCases)
    func caExtensions(keyType: KeyType) throws {
        let set = try IssuedSet(caKey: keyType, leafKey: .ecdsaP256)
        defer { set.dir.remove() }
        let text = try set.text("ca.pem")
        #expect(text.contains("X509v3 Basic Constraints: critical"))
        #expect(text.line(after: "X509v3 Basic Constraints") == "CA:TRUE")
        #expect(text.contains("X509v3 Key Usage: critical"))
        #expect(text.line(after: "X509v3 Key Usage") == "Certificate Sign, CRL Sign")
        #expect(text.contains("X509v3 Subject Key Identifier"))
        #expect(text.contains("Subject: CN = swock-machine CA"))
        #expect(text.contains("Issuer: CN = swock-machine CA"))
        #expect(text.contains(keyType == .rsa2048 ? "sha256WithRSAEncryption" : "ecdsa-with-SHA256"))
        #expect(text.contains(keyType == .rsa2048 ? "Public-Key: (2048 bit)" : "ASN1 OID: prime256v1"))
        #expect(!text.contains("Extended Key Usage"))
    }

    @Test("leaf extensions: EKU, key usage, CA:FALSE, AKI = CA's SKI, SANs", arguments: KeyType.allCases, KeyType.allCases)
    func leafExtensions(caKey: KeyType, leafKey: KeyType) throws {
        let set = try IssuedSet(caKey: caKey, leafKey: leafKey)
        defer { set.dir.remove() }
        let caSKI = try #require(try set.text("ca.pem").line(after: "X509v3 Subject Key Identifier"))
        let expectedUsage = leafKey == .rsa2048 ? "Digital Signature, Key Encipherment" : "Digital Signature"

        for (file, eku) in [("cert.pem", "TLS Web Client Authentication"), ("server.pem", "TLS Web Server Authentication")] {
            let text = try set.text(file)
            #expect(text.line(after: "X509v3 Extended Key Usage") == eku, "\(file)")
            #expect(text.line(after: "X509v3 Basic Constraints") == "CA:FALSE", "\(file)")
            #expect(text.contains("X509v3 Key Usage: critical"), "\(file)")
            #expect(text.line(after: "X509v3 Key Usage") == expectedUsage, "\(file)")
            let aki = try #require(text.line(after: "X509v3 Authority Key Identifier"))
            #expect(aki == caSKI || aki == "keyid:\(caSKI)", "\(file): AKI \(aki) vs CA SKI \(caSKI)")
            #expect(text.contains("Issuer: CN = swock-machine CA"))
            #expect(
                text.contains(caKey == .rsa2048 ? "Signature Algorithm: sha256WithRSAEncryption" : "Signature Algorithm: ecdsa-with-SHA256")
            )
            #expect(text.contains(leafKey == .rsa2048 ? "Public-Key: (2048 bit)" : "ASN1 OID: prime256v1"))

            let serial = try set.openssl("x509", "-in", file, "-noout", "-serial").stdout
            let hex = serial.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
            #expect(hex.count == 40, "serial \(hex) should be 20 bytes")
            #expect(Int(String(hex.prefix(1)), radix: 16)! < 8, "serial must be positive")
        }
        let client = try set.text("cert.pem")
        #expect(client.contains("Subject: CN = swock-machine client"))
        #expect(!client.contains("Subject Alternative Name"))

        let server = try set.text("server.pem")
        #expect(server.contains("Subject: CN = docker-host"))
        let sans = try #require(server.line(after: "X509v3 Subject Alternative Name"))
        #expect(sans == "IP Address:127.0.0.1, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1, DNS:docker-host.example.com, DNS:localhost")
    }

    @Test("validity: notBefore is now - 5 minutes, notAfter is now + validityDays")
    func validityWindow() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let set = try IssuedSet(caKey: .ecdsaP256, leafKey: .ecdsaP256, now: now)
        defer { set.dir.remove() }
        let dates = try set.openssl("x509", "-in", "cert.pem", "-noout", "-startdate", "-enddate").stdout
        // 1_800_000_000 = 2027-01-15 08:00:00 UTC; minus 300 s; plus 1095 days (2028 is a leap year).
        #expect(dates.contains("notBefore=Jan 15 07:55:00 2027 GMT"), "\(dates)")
        #expect(dates.contains("notAfter=Jan 14 08:00:00 2030 GMT"), "\(dates)")
    }

    @Test("a certificate from another CA fails openssl verify and CertificateAuthority.verify", arguments: KeyType.allCases)
    func otherCA(keyType: KeyType) throws {
        let set = try IssuedSet(caKey: keyType, leafKey: keyType)
        defer { set.dir.remove() }
        // Same subject name as the real CA, so only the signature tells them apart.
        let other = try CertificateAuthority.generate(keyType: keyType)
        let foreign = try other.issueClientCertificate(keyType: keyType)
        try set.dir.write("foreign.pem", foreign.certificatePEM)

        let r = try set.openssl("verify", "-CAfile", "ca.pem", "foreign.pem")
        #expect(r.status != 0)
        #expect(!set.ca.verify(certificatePEM: foreign.certificatePEM))
        #expect(other.verify(certificatePEM: foreign.certificatePEM))
        #expect(set.ca.verify(certificatePEM: set.client.certificatePEM))
        #expect(set.ca.verify(certificatePEM: set.server.certificatePEM))
        #expect(!other.verify(certificatePEM: set.server.certificatePEM))
        #expect(!set.ca.verify(certificatePEM: "not a certificate"))
    }

    @Test("an expired certificate is rejected by openssl and by verify", arguments: KeyType.allCases)
    func expired(keyType: KeyType) throws {
        let set = try IssuedSet(caKey: keyType, leafKey: keyType)
        defer { set.dir.remove() }
        let past = Date(timeIntervalSince1970: 1_000_000_000)  // 2001-09-09
        let old = try set.ca.issueClientCertificate(keyType: keyType, validityDays: 1, now: past)
        try set.dir.write("old.pem", old.certificatePEM)

        let r = try set.openssl("verify", "-CAfile", "ca.pem", "old.pem")
        #expect(r.status != 0)
        #expect(r.output.contains("expired"), "\(r.output)")
        #expect(!set.ca.verify(certificatePEM: old.certificatePEM))
        #expect(!set.ca.verify(certificatePEM: old.certificatePEM, now: past.addingTimeInterval(2 * 86_400)))
        // Not yet valid: before notBefore (now - 5 min).
        #expect(!set.ca.verify(certificatePEM: set.client.certificatePEM, now: Date().addingTimeInterval(-3600)))
        #expect(set.ca.verify(certificatePEM: set.client.certificatePEM, now: Date().addingTimeInterval(-120)))
    }

    @Test("openssl pkey accepts the PKCS#8 keys and each key matches its certificate", arguments: KeyType.allCases, KeyType.allCases)
    func keysMatchCertificates(caKey: KeyType, leafKey: KeyType) throws {
        let set = try IssuedSet(caKey: caKey, leafKey: leafKey)
        defer { set.dir.remove() }
        for (cert, key) in [("ca.pem", "ca-key.pem"), ("cert.pem", "key.pem"), ("server.pem", "server-key.pem")] {
            let keyPEM = try set.dir.read(key)
            #expect(keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"), "\(key) must be unencrypted PKCS#8")
            let check = try set.openssl("pkey", "-in", key, "-noout")
            #expect(check.status == 0, "\(key): \(check.output)")
            let fromKey = try set.openssl("pkey", "-in", key, "-pubout")
            let fromCert = try set.openssl("x509", "-in", cert, "-noout", "-pubkey")
            #expect(fromKey.status == 0 && fromCert.status == 0)
            #expect(!fromKey.stdout.isEmpty)
            #expect(fromKey.stdout == fromCert.stdout, "\(key) does not match \(cert)")
        }
        // Different leaves get different keys.
        #expect(set.client.privateKeyPEM != set.server.privateKeyPEM)
    }
}
