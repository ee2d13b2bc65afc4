import CLibSSH
import Foundation

/// Makes and reads OpenSSH key files with libssh (no ssh-keygen process, no key on a command line).
public enum SSHKeyGenerator {
    /// A new ed25519 key: its private key in OpenSSH format (for the caller to write 0600) and
    /// its `ssh-ed25519 AAAA... comment` public line.
    public static func generateEd25519(comment: String) throws -> (privateKey: String, publicLine: String) {
        var key: ssh_key?
        guard ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK, let k = key else {
            throw SSHError.localIO(path: "(new key)", reason: "cannot generate an ed25519 key")
        }
        defer { ssh_key_free(k) }
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_privkey_base64(k, nil, nil, nil, &b64) == SSH_OK, let b = b64 else {
            throw SSHError.localIO(path: "(new key)", reason: "cannot export the private key")
        }
        defer { ssh_string_free_char(b) }
        var text = String(cString: b)
        if !text.hasSuffix("\n") { text += "\n" }
        return (text, try publicLine(k, comment: comment, path: "(new key)"))
    }

    /// The public line of an existing private key file.
    public static func publicKeyLine(privateKeyPath: String, comment: String) throws -> String {
        var key: ssh_key?
        guard ssh_pki_import_privkey_file(privateKeyPath, nil, nil, nil, &key) == SSH_OK, let k = key else {
            throw SSHError.keyFileUnreadable(path: privateKeyPath, reason: "not a private key, or it is encrypted")
        }
        defer { ssh_key_free(k) }
        return try publicLine(k, comment: comment, path: privateKeyPath)
    }

    private static func publicLine(_ k: ssh_key, comment: String, path: String) throws -> String {
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(k, &b64) == SSH_OK, let b = b64 else {
            throw SSHError.localIO(path: path, reason: "cannot export the public key")
        }
        defer { ssh_string_free_char(b) }
        return "\(LibSSH.keyTypeName(k)) \(String(cString: b)) \(comment)"
    }
}
