import Crypto
import Foundation
import SwiftASN1
import X509

/// A local certificate authority: a self-signed CA certificate and its private key.
/// It issues client certificates (for the docker CLI) and server certificates (for dockerd).
public struct CertificateAuthority: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
    let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    /// Leaf certificates start 5 minutes in the past so a host whose clock is slightly behind accepts them.
    static let clockSkewAllowance: TimeInterval = 5 * 60

    /// Generates a new self-signed CA (basicConstraints CA:TRUE and keyUsage keyCertSign+cRLSign, both critical).
    public static func generate(
        commonName: String = "swock-machine CA",
        keyType: KeyType = .ecdsaP256,
        validityDays: Int = 3650,
        now: Date = Date()
    ) throws -> CertificateAuthority {
        let name = try distinguishedName(commonName)
        let (notBefore, notAfter) = try validity(days: validityDays, now: now)
        let material = try KeyMaterial.generate(keyType)
        let publicKey = material.key.publicKey
        let certificate = try sign {
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            }
            return try Certificate(
                version: .v3,
                serialNumber: randomSerialNumber(),
                publicKey: publicKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: name,
                subject: name,
                signatureAlgorithm: KeyMaterial.signatureAlgorithm(for: material.key),
                extensions: extensions,
                issuerPrivateKey: material.key
            )
        }
        return CertificateAuthority(
            certificatePEM: try CertificatePEM.serialize(certificate),
            privateKeyPEM: material.pkcs8PEM,
            certificate: certificate,
            privateKey: material.key
        )
    }

    /// Loads an existing CA. Throws if either PEM is bad, the key is encrypted or of an unsupported type,
    /// the certificate is not a CA, or the key does not belong to the certificate.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        let certificate = try CertificatePEM.parse(certificatePEM, what: "the CA certificate")
        let key = try KeyMaterial.load(pem: privateKeyPEM)
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw PKIError.notACertificateAuthority(subject: String(describing: certificate.subject))
        }
        guard key.publicKey == certificate.publicKey else { throw PKIError.keyDoesNotMatchCertificate }
        self.init(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM, certificate: certificate, privateKey: key)
    }

    init(certificatePEM: String, privateKeyPEM: String, certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Issues a client certificate (EKU clientAuth) for the docker CLI.
    public func issueClientCertificate(
        commonName: String = "swock-machine client",
        keyType: KeyType = .ecdsaP256,
        validityDays: Int = 1095,
        now: Date = Date()
    ) throws -> PEMKeyPair {
        try issueLeaf(commonName: commonName, usage: .clientAuth, names: [], keyType: keyType, validityDays: validityDays, now: now)
    }

    /// Issues a server certificate (EKU serverAuth) for dockerd. Each SAN is an IPv4/IPv6 address or a DNS name;
    /// duplicates are dropped. At least one SAN is required.
    public func issueServerCertificate(
        commonName: String,
        subjectAltNames: [String],
        keyType: KeyType = .ecdsaP256,
        validityDays: Int = 1095,
        now: Date = Date()
    ) throws -> PEMKeyPair {
        let names = try SubjectAltName.classifyAll(subjectAltNames)
        guard !names.isEmpty else { throw PKIError.missingSubjectAltNames }
        return try issueLeaf(
            commonName: commonName, usage: .serverAuth, names: names, keyType: keyType, validityDays: validityDays, now: now)
    }

    /// True when `certificatePEM` was issued by this CA (issuer name and signature) and `now` is within its validity.
    public func verify(certificatePEM: String, now: Date = Date()) -> Bool {
        guard let leaf = try? CertificatePEM.parse(certificatePEM) else { return false }
        guard leaf.issuer == certificate.subject,
            certificate.publicKey.isValidSignature(leaf.signature, for: leaf)
        else { return false }
        return leaf.notValidBefore <= now && now <= leaf.notValidAfter
            && certificate.notValidBefore <= now && now <= certificate.notValidAfter
    }

    // MARK: - Building blocks

    private func issueLeaf(
        commonName: String,
        usage: ExtendedKeyUsage.Usage,
        names: [SubjectAltName.Classified],
        keyType: KeyType,
        validityDays: Int,
        now: Date
    ) throws -> PEMKeyPair {
        let subject = try Self.distinguishedName(commonName)
        let (notBefore, notAfter) = try Self.validity(days: validityDays, now: now)
        let material = try KeyMaterial.generate(keyType)
        let publicKey = material.key.publicKey
        let authorityKeyID =
            (try? certificate.extensions.subjectKeyIdentifier)??.keyIdentifier
            ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
        let generalNames: [GeneralName] = names.map {
            switch $0 {
            case .ip(let bytes): return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
            case .dns(let name): return .dnsName(name)
            }
        }
        let leaf = try Self.sign {
            var extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: keyType == .rsa2048))
                try ExtendedKeyUsage([usage])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
            }
            if !generalNames.isEmpty {
                try extensions.append(Certificate.Extension(SubjectAlternativeNames(generalNames), critical: false))
            }
            return try Certificate(
                version: .v3,
                serialNumber: Self.randomSerialNumber(),
                publicKey: publicKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: certificate.subject,
                subject: subject,
                signatureAlgorithm: KeyMaterial.signatureAlgorithm(for: privateKey),
                extensions: extensions,
                issuerPrivateKey: privateKey
            )
        }
        return PEMKeyPair(certificatePEM: try CertificatePEM.serialize(leaf), privateKeyPEM: material.pkcs8PEM)
    }

    /// Runs a swift-certificates construction, mapping its errors to `PKIError.signingFailed`.
    private static func sign(_ body: () throws -> Certificate) throws -> Certificate {
        do {
            return try body()
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.signingFailed("\(error)")
        }
    }

    static func distinguishedName(_ commonName: String) throws -> DistinguishedName {
        guard (1...64).contains(commonName.count),
            !commonName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { throw PKIError.invalidCommonName(commonName) }
        do {
            return try DistinguishedName { CommonName(commonName) }
        } catch {
            throw PKIError.invalidCommonName(commonName)
        }
    }

    static func validity(days: Int, now: Date) throws -> (Date, Date) {
        guard days > 0, days <= 100 * 366 else { throw PKIError.invalidValidity(days: days) }
        // X.509 times have whole seconds; truncate here so the dates don't depend on how the encoder rounds.
        let start = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        return (start.addingTimeInterval(-clockSkewAllowance), start.addingTimeInterval(TimeInterval(days) * 86_400))
    }

    /// 20 random bytes, top bit clear (positive) and next bit set, so the DER INTEGER is exactly 20 bytes.
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        return Certificate.SerialNumber(bytes: bytes)
    }
}
