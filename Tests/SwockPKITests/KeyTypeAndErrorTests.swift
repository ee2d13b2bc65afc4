import SwockPKI
import Testing

@Suite("KeyType and PKIError")
struct KeyTypeAndErrorTests {
    @Test(
        "CLI names",
        arguments: [
            ("ecdsa", KeyType.ecdsaP256), ("ECDSA", .ecdsaP256), ("ecdsa-p256", .ecdsaP256), ("p256", .ecdsaP256),
            ("rsa", .rsa2048), ("RSA", .rsa2048), ("rsa-2048", .rsa2048),
        ])
    func cliNames(name: String, expected: KeyType) throws {
        #expect(try KeyType(cliName: name) == expected)
    }

    @Test("unknown CLI names throw")
    func unknown() {
        for name in ["", "dsa", "ed25519", "rsa-4096"] {
            #expect(throws: PKIError.unknownKeyType(name)) { try KeyType(cliName: name) }
        }
        #expect(KeyType(rawValue: "ecdsa-p256") == .ecdsaP256)
        #expect(KeyType.allCases.map(\.cliName) == ["ecdsa", "rsa"])
    }

    @Test("error descriptions are one line and say what to do")
    func descriptions() {
        let errors: [PKIError] = [
            .unknownKeyType("x"), .invalidValidity(days: 0), .invalidCommonName(""),
            .invalidSubjectAltName("a b", reason: "contains whitespace"), .missingSubjectAltNames,
            .invalidPEM(what: "the certificate", reason: "r"), .encryptedPrivateKey, .unsupportedKey("Ed25519"),
            .keyDoesNotMatchCertificate, .notACertificateAuthority(subject: "CN=x"), .signingFailed("r"),
        ]
        for error in errors {
            let text = error.description
            #expect(!text.contains("\n"), "\(text)")
            #expect(text.contains(":"), "\(text)")
            #expect(text.count > 20, "\(text)")
        }
    }
}
