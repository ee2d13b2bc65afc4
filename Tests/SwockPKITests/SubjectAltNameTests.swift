import SwockPKI
import Testing

@Suite("SubjectAltName.classify")
struct SubjectAltNameTests {
    static let loopback6: [UInt8] = Array(repeating: 0, count: 15) + [1]

    static let ips: [(String, [UInt8])] = [
        ("10.0.0.1", [10, 0, 0, 1]),
        ("0.0.0.0", [0, 0, 0, 0]),
        ("255.255.255.255", [255, 255, 255, 255]),
        ("192.168.64.5", [192, 168, 64, 5]),
        ("::1", loopback6),
        ("[::1]", loopback6),
        ("0:0:0:0:0:0:0:1", loopback6),
        ("::", Array(repeating: 0, count: 16)),
        ("fe80::1", [0xfe, 0x80] + Array(repeating: 0, count: 13) + [1]),
        ("2001:DB8::8a2e:370:7334", [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34]),
        ("::ffff:192.168.1.1", Array(repeating: 0, count: 10) + [0xff, 0xff, 192, 168, 1, 1]),
    ]

    static let dnsNames: [(String, String)] = [
        ("localhost", "localhost"),
        ("docker-host", "docker-host"),
        ("Docker-Host.Example.COM", "docker-host.example.com"),
        ("example.com.", "example.com"),
        ("*.example.com", "*.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("123abc.example", "123abc.example"),
        ("a1.b2", "a1.b2"),
        (String(repeating: "a", count: 63) + ".com", String(repeating: "a", count: 63) + ".com"),
    ]

    static let invalid: [String] = [
        "", " ", "host name", " 10.0.0.1", "10.0.0.1 ", "\t", "a\nb", "x\u{0}y",
        "300.1.1.1", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.4.",
        "::g", "1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "fe80::1%eth0", "[::1", "::1]", "[10.0.0.1]", "[]",
        "host_name", "-host", "host-", "a..b", ".example.com", "*.", "*", "foo.*.com", "*foo.com", "f*o.com",
        "bücher.de", "host/path", "http://x", "a@b", "foo.123", "1234",
        String(repeating: "a", count: 64) + ".com",
        Array(repeating: "abcdefghi", count: 26).joined(separator: "."),
    ]

    @Test("IP addresses classify as raw 4/16 bytes", arguments: ips)
    func ip(input: String, bytes: [UInt8]) throws {
        let c = try SubjectAltName.classify(input)
        #expect(c.ip == bytes)
        #expect(c.dns == nil)
    }

    @Test("DNS names classify as lowercased names", arguments: dnsNames)
    func dns(input: String, expected: String) throws {
        let c = try SubjectAltName.classify(input)
        #expect(c.dns == expected)
        #expect(c.ip == nil)
    }

    @Test("garbage throws invalidSubjectAltName", arguments: invalid)
    func garbage(input: String) {
        #expect {
            try SubjectAltName.classify(input)
        } throws: { error in
            guard case PKIError.invalidSubjectAltName(let name, let reason) = error else { return false }
            return name == input && !reason.isEmpty
        }
    }

    @Test("duplicates are dropped from server certificates; order kept")
    func duplicates() throws {
        let ca = try CertificateAuthority.generate()
        let pair = try ca.issueServerCertificate(
            commonName: "h", subjectAltNames: ["10.0.0.1", "HOST.example", "::1", "10.0.0.1", "host.example", "0:0::1", "[::1]"])
        let summary = try CertificateSummary(pem: pair.certificatePEM)
        #expect(summary.ipAddresses == ["10.0.0.1", "::1"])
        #expect(summary.dnsNames == ["host.example"])
    }
}
