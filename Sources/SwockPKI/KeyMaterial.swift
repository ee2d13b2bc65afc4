import Crypto
import X509
import _CryptoExtras

/// A freshly generated private key and its PKCS#8 PEM text.
struct KeyMaterial {
    let key: Certificate.PrivateKey
    let pkcs8PEM: String

    static func generate(_ type: KeyType) throws -> KeyMaterial {
        switch type {
        case .ecdsaP256:
            let key = P256.Signing.PrivateKey()
            return KeyMaterial(key: Certificate.PrivateKey(key), pkcs8PEM: key.pemRepresentation)
        case .rsa2048:
            do {
                let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
                return KeyMaterial(key: Certificate.PrivateKey(key), pkcs8PEM: key.pkcs8PEMRepresentation)
            } catch {
                throw PKIError.signingFailed("RSA key generation failed: \(error)")
            }
        }
    }

    /// Loads an unencrypted private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY").
    static func load(pem: String) throws -> Certificate.PrivateKey {
        if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
            throw PKIError.encryptedPrivateKey
        }
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: pem.trimmingPEMWhitespace())
        } catch {
            throw PKIError.invalidPEM(what: "the private key", reason: "\(error)")
        }
        guard KeyType(of: key.publicKey) != nil else {
            throw PKIError.unsupportedKey(String(describing: key))
        }
        return key
    }

    /// The SHA-256 signature algorithm that goes with the signing key.
    static func signatureAlgorithm(for key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm {
        KeyType(of: key.publicKey) == .rsa2048 ? .sha256WithRSAEncryption : .ecdsaWithSHA256
    }
}

extension KeyType {
    /// The key family of a certificate public key: `.rsa2048` stands for any RSA size; nil for other algorithms.
    init?(of publicKey: Certificate.PublicKey) {
        if P256.Signing.PublicKey(publicKey) != nil {
            self = .ecdsaP256
        } else if _RSA.Signing.PublicKey(publicKey) != nil {
            self = .rsa2048
        } else {
            return nil
        }
    }
}

extension String {
    func trimmingPEMWhitespace() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
