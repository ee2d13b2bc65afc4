import CLibSSH
import Foundation

/// Makes and reads OpenSSH key files with libssh (no ssh-keygen process, no key on a command line).
public enum SSHKeyGenerator {
    /// Writes a new ed25519 private key (OpenSSH format, 0600) and returns its
    /// `ssh-ed25519 AAAA... comment` public line.
    public static func generateEd25519(privateKeyPath: String, comment: String) throws -> String {
        var key: ssh_key?
        guard ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK, let k = key else {
            throw SSHError.localIO(path: privateKeyPath, reason: "cannot generate an ed25519 key")
        }
        defer { ssh_key_free(k) }
        let old = umask(0o077)
        defer { umask(old) }
        let tmp = privateKeyPath + ".tmp-\(getpid())"
        unlink(tmp)
        guard ssh_pki_export_privkey_file(k, nil, nil, nil, tmp) == SSH_OK else {
            unlink(tmp)
            throw SSHError.localIO(path: privateKeyPath, reason: "cannot write the private key")
        }
        chmod(tmp, 0o600)
        guard rename(tmp, privateKeyPath) == 0 else {
            unlink(tmp)
            throw SSHError.localIO(path: privateKeyPath, reason: String(cString: strerror(errno)))
        }
        return try publicLine(k, comment: comment, path: privateKeyPath)
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
