/// A certificate and its private key, both PEM. The key is unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
public struct PEMKeyPair: Sendable, Equatable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}
