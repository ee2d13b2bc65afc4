import Foundation
import SwockPKI
import Testing

@Suite("CertificateSummary")
struct CertificateSummaryTests {
    @Test("fields round trip: names, dates, SANs, serial and fingerprint match openssl", arguments: KeyType.allCases)
    func fields(keyType: KeyType) throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000.75)  // fractional seconds are dropped by X.509 times
        let set = try IssuedSet(caKey: keyType, leafKey: keyType, now: now)
        defer { set.dir.remove() }
        let s = try CertificateSummary(pem: set.server.certificatePEM)
        #expect(s.subject == "CN=docker-host")
        #expect(s.issuer == "CN=swock-machine CA")
        #expect(s.notBefore == Date(timeIntervalSince1970: 1_790_000_000 - 300))
        #expect(s.notAfter == Date(timeIntervalSince1970: 1_790_000_000 + 1095 * 86_400))
        #expect(s.ipAddresses == ["127.0.0.1", "10.1.2.3", "::1"])
        #expect(s.dnsNames == ["docker-host.example.com", "localhost"])

        let serial = try set.openssl("x509", "-in", "server.pem", "-noout", "-serial").stdout
        #expect("serial=\(s.serialNumber)" == serial.trimmingCharacters(in: .whitespacesAndNewlines))
        let fp = try set.openssl("x509", "-in", "server.pem", "-noout", "-fingerprint", "-sha256").stdout
        let opensslHex = fp.split(separator: "=").last.map {
            $0.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        }
        #expect(s.sha256Fingerprint == opensslHex)
        #expect(s.sha256Fingerprint.count == 64)

        let ca = try CertificateSummary(pem: set.ca.certificatePEM)
        #expect(ca.subject == ca.issuer)
        #expect(ca.notAfter == Date(timeIntervalSince1970: 1_790_000_000 + 3650 * 86_400))
        #expect(ca.dnsNames.isEmpty && ca.ipAddresses.isEmpty)
        #expect(ca.serialNumber != s.serialNumber)
    }

    @Test("covers(address:) matches IPs by value and DNS names case-insensitively with simple wildcards")
    func covers() throws {
        let ca = try CertificateAuthority.generate()
        let pair = try ca.issueServerCertificate(
            commonName: "h", subjectAltNames: ["10.1.2.3", "::1", "fd00::a", "Host.Example.com", "*.apps.example.com"])
        let s = try CertificateSummary(pem: pair.certificatePEM)
        for yes in [
            "10.1.2.3", "::1", "0:0:0:0:0:0:0:1", "[::1]", "FD00:0::A", "host.example.com", "HOST.EXAMPLE.COM.",
            "x.apps.example.com", "Web-1.Apps.Example.com",
        ] {
            #expect(s.covers(address: yes), "\(yes)")
        }
        for no in [
            "10.1.2.4", "::2", "127.0.0.1", "example.com", "other.host.example.com", "apps.example.com",
            "a.b.apps.example.com", ".apps.example.com", "", "10.1.2.3.example", "::ffff:10.1.2.3",
        ] {
            #expect(!s.covers(address: no), "\(no)")
        }
    }

    @Test("expires(within:now:)")
    func expiry() throws {
        let now = Date()
        let ca = try CertificateAuthority.generate(now: now)
        let s = try CertificateSummary(pem: try ca.issueClientCertificate(validityDays: 30, now: now).certificatePEM)
        #expect(!s.expires(within: 29 * 86_400, now: now))
        #expect(s.expires(within: 31 * 86_400, now: now))
        #expect(s.expires(within: 0, now: now.addingTimeInterval(40 * 86_400)))
    }

    @Test("Codable round trip, bundle takes the first certificate, garbage throws")
    func codableAndParsing() throws {
        let ca = try CertificateAuthority.generate()
        let pair = try ca.issueServerCertificate(commonName: "h", subjectAltNames: ["10.0.0.1", "h.example"])
        let s = try CertificateSummary(pem: pair.certificatePEM)
        let decoded = try JSONDecoder().decode(CertificateSummary.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)

        let bundle = "leading text\n" + pair.certificatePEM + ca.certificatePEM
        #expect(try CertificateSummary(pem: bundle) == s)

        for bad in ["", "garbage", pair.privateKeyPEM, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
            #expect {
                try CertificateSummary(pem: bad)
            } throws: { error in
                guard case PKIError.invalidPEM = error else { return false }
                return true
            }
        }
    }
}
