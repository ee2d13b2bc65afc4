import SwockSupport

/// Everything that can go wrong while creating, loading or checking certificates.
/// Each description is one line saying what is wrong and what to do about it.
public enum PKIError: Error, CustomStringConvertible, Equatable, Sendable {
    case unknownKeyType(String)
    case invalidValidity(days: Int)
    case invalidCommonName(String)
    case invalidSubjectAltName(String, reason: String)
    case missingSubjectAltNames
    case invalidPEM(what: String, reason: String)
    case encryptedPrivateKey
    case unsupportedKey(String)
    case keyDoesNotMatchCertificate
    case notACertificateAuthority(subject: String)
    case signingFailed(String)

    public var description: String {
        switch self {
        case .unknownKeyType(let name):
            return "unknown key type \"\(name)\": use \"ecdsa\" or \"rsa\""
        case .invalidValidity(let days):
            return "validity of \(days) days is invalid: use a positive number of days"
        case .invalidCommonName(let name):
            return "common name \"\(name)\" is invalid: use 1 to 64 characters"
        case .invalidSubjectAltName(let name, let reason):
            return "subject alternative name \"\(name)\" is invalid (\(reason)): use an IPv4 address, an IPv6 address or a DNS name"
        case .missingSubjectAltNames:
            return "a server certificate needs at least one subject alternative name: pass the host's IP address or DNS name"
        case .invalidPEM(let what, let reason):
            return "\(what) is not valid PEM (\(reason)): pass the PEM file as written by swock-machine or openssl"
        case .encryptedPrivateKey:
            return
                "the private key is encrypted: decrypt it first (openssl pkey -in key.pem -out key-plain.pem), dockerd does not accept encrypted keys"
        case .unsupportedKey(let kind):
            return "the key is \(kind): only ECDSA P-256 and RSA keys are supported"
        case .keyDoesNotMatchCertificate:
            return "the private key does not belong to the CA certificate: pass the key that was generated together with ca.pem"
        case .notACertificateAuthority(let subject):
            return
                "certificate \"\(subject)\" is not a CA (basicConstraints CA:TRUE missing): pass the CA certificate, not a client or server certificate"
        case .signingFailed(let reason):
            return "could not create the certificate (\(reason)): check the key and the parameters"
        }
    }
}

extension PKIError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .unknownKeyType: return "pki.unknown-key-type"
        case .invalidValidity: return "pki.invalid-validity"
        case .invalidCommonName: return "pki.invalid-common-name"
        case .invalidSubjectAltName: return "pki.invalid-subject-alt-name"
        case .missingSubjectAltNames: return "pki.missing-subject-alt-names"
        case .invalidPEM: return "pki.invalid-p-e-m"
        case .encryptedPrivateKey: return "pki.encrypted-private-key"
        case .unsupportedKey: return "pki.unsupported-key"
        case .keyDoesNotMatchCertificate: return "pki.key-does-not-match-certificate"
        case .notACertificateAuthority: return "pki.not-a-certificate-authority"
        case .signingFailed: return "pki.signing-failed"
        }
    }
}
