/// The key algorithms swock-machine generates for CA, client and server certificates.
public enum KeyType: String, Codable, Sendable, CaseIterable {
    case ecdsaP256 = "ecdsa-p256"
    case rsa2048 = "rsa-2048"

    /// Parses a key type as typed on the command line: the raw values ("ecdsa-p256", "rsa-2048")
    /// or the short names "ecdsa" / "rsa" (also "ec", "p256", "rsa2048"), case-insensitively.
    public init(cliName: String) throws {
        switch cliName.lowercased() {
        case "ecdsa", "ecdsa-p256", "ec", "p256", "p-256", "ecdsa-p-256": self = .ecdsaP256
        case "rsa", "rsa-2048", "rsa2048": self = .rsa2048
        default: throw PKIError.unknownKeyType(cliName)
        }
    }

    /// The short name used on the command line ("ecdsa" or "rsa").
    public var cliName: String {
        switch self {
        case .ecdsaP256: return "ecdsa"
        case .rsa2048: return "rsa"
        }
    }
}
