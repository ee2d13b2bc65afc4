import SwiftASN1
import X509

/// Parsing certificates out of PEM text (the first CERTIFICATE block of a file or bundle).
enum CertificatePEM {
    static func parse(_ pem: String, what: String = "the certificate") throws -> Certificate {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw PKIError.invalidPEM(what: what, reason: "\(error)")
        }
        guard let document = documents.first(where: { $0.discriminator == "CERTIFICATE" }) else {
            throw PKIError.invalidPEM(what: what, reason: "no CERTIFICATE block")
        }
        do {
            return try Certificate(derEncoded: document.derBytes)
        } catch {
            throw PKIError.invalidPEM(what: what, reason: "\(error)")
        }
    }

    static func serialize(_ certificate: Certificate) throws -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw PKIError.signingFailed("PEM encoding failed: \(error)")
        }
    }
}
