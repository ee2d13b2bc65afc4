import Crypto
import Foundation
import SwiftASN1
import X509

/// The facts about a certificate that swock-machine shows and checks, parsed from any PEM certificate.
public struct CertificateSummary: Sendable, Codable, Equatable {
    /// RFC 4514-style distinguished names, e.g. "CN=swock-machine CA".
    public var subject: String
    public var issuer: String
    /// Uppercase hex without separators, as printed by `openssl x509 -serial`.
    public var serialNumber: String
    public var notBefore: Date
    public var notAfter: Date
    /// DNS subject alternative names, as written in the certificate.
    public var dnsNames: [String]
    /// IP subject alternative names in canonical text ("10.0.0.1", "::1").
    public var ipAddresses: [String]
    /// Lowercase hex SHA-256 of the certificate's DER encoding, without separators.
    public var sha256Fingerprint: String

    public init(pem: String) throws {
        let certificate = try CertificatePEM.parse(pem)
        subject = String(describing: certificate.subject)
        issuer = String(describing: certificate.issuer)
        serialNumber = certificate.serialNumber.bytes.map { hex2($0) }.joined().uppercased()
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        let names = CertificateNames(certificate: certificate)
        dnsNames = names.dnsNames
        ipAddresses = names.ipAddresses
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw PKIError.invalidPEM(what: "the certificate", reason: "\(error)")
        }
        sha256Fingerprint = SHA256.hash(data: serializer.serializedBytes).map { hex2($0) }.joined()
    }

    /// True when a SAN matches `address`: an IP (IPv4/IPv6, brackets allowed) compared as bytes,
    /// or a DNS name compared case-insensitively, where "*.example.com" matches exactly one extra leftmost label.
    public func covers(address: String) -> Bool {
        if let ip = SubjectAltName.parseIP(address) {
            return ipAddresses.contains { SubjectAltName.parseIP($0) == ip }
        }
        var host = address.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { return false }
        return dnsNames.contains { Self.dnsName($0, matches: host) }
    }

    /// True when the certificate has expired by `now + within` (already-expired certificates included).
    public func expires(within: TimeInterval, now: Date) -> Bool {
        notAfter <= now.addingTimeInterval(within)
    }

    static func dnsName(_ pattern: String, matches host: String) -> Bool {
        var pattern = pattern.lowercased()
        if pattern.hasSuffix(".") { pattern.removeLast() }
        if pattern == host { return true }
        guard pattern.hasPrefix("*.") else { return false }
        let suffix = pattern.dropFirst(1)  // ".example.com"
        guard host.hasSuffix(suffix) else { return false }
        let firstLabel = host.dropLast(suffix.count)
        return !firstLabel.isEmpty && !firstLabel.contains(".")
    }
}
