/// A certificate and its private key, both PEM. The key is unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
public struct PEMKeyPair: Sendable, Equatable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

extension PEMKeyPair {
    /// The key is the certificate's: both parse and the certificate carries the key's public half.
    public var keyMatchesCertificate: Bool {
        guard let certificate = try? CertificatePEM.parse(certificatePEM), let key = try? KeyMaterial.load(pem: privateKeyPEM) else {
            return false
        }
        return key.publicKey == certificate.publicKey
    }
}
