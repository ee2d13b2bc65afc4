import Foundation
import SwiftASN1
import X509

/// The subject alternative names of a certificate, nothing else: what `ls` and
/// `regenerate-certs` compare between machines (`CertificateOverlap`). Parsing reads only the
/// SAN extension (no fingerprint, no distinguished names), and the store keeps the result per
/// PEM (`Store.serverCertificateNames`), so a listing parses only certificates it has not seen.
public struct CertificateNames: Sendable, Equatable {
    /// IP subject alternative names in canonical text ("10.0.0.1", "::1").
    public var ipAddresses: [String]
    /// DNS subject alternative names, as written in the certificate.
    public var dnsNames: [String]

    public init(ipAddresses: [String], dnsNames: [String]) {
        self.ipAddresses = ipAddresses
        self.dnsNames = dnsNames
    }

    /// The first certificate of `pem`; a certificate without the extension has no names.
    public init(pem: String) throws {
        self.init(certificate: try CertificatePEM.parse(pem))
    }

    /// The names `certificate` carries (none without the extension).
    init(certificate: Certificate) {
        var dns: [String] = []
        var ips: [String] = []
        for name in (try? certificate.extensions.subjectAlternativeNames) ?? nil ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let value): dns.append(value)
            case .ipAddress(let value): ips.append(SubjectAltName.text(forIP: Array(value.bytes)))
            default: break
            }
        }
        self.init(ipAddresses: ips, dnsNames: dns)
    }

    /// The names of a summary (the same ones, in the same order).
    public init(_ summary: CertificateSummary) {
        self.init(ipAddresses: summary.ipAddresses, dnsNames: summary.dnsNames)
    }
}
