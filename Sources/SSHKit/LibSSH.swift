import CLibSSH
import Foundation
import SwockSupport

/// Typed wrappers for `ssh_options_set`: a wrong pointer width there compiles silently and breaks
/// at run time, so every option we use goes through one of these.
enum LibSSH {
    static func setString(_ s: ssh_session, _ option: ssh_options_e, _ value: String) -> Bool {
        value.withCString { ssh_options_set(s, option, $0) } == SSH_OK
    }

    /// PORT is an `unsigned int`.
    static func setPort(_ s: ssh_session, _ port: Int) -> Bool {
        guard var v = UInt32(exactly: port) else { return false }
        return ssh_options_set(s, SSH_OPTIONS_PORT, &v) == SSH_OK
    }

    /// TIMEOUT is a C `long` of seconds, TIMEOUT_USEC a C `long` of microseconds; libssh adds them.
    static func setTimeout(_ s: ssh_session, _ d: Duration) {
        let total = max(d.timeInterval, 0.001)
        var secs = Int(total.rounded(.down))
        var usec = Int(((total - Double(secs)) * 1_000_000).rounded())
        if secs == 0 && usec == 0 { usec = 1000 }
        ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &secs)
        ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec)
    }

    static func setBool(_ s: ssh_session, _ option: ssh_options_e, _ value: Bool) {
        var v = value
        ssh_options_set(s, option, &v)
    }

    static func setInt32(_ s: ssh_session, _ option: ssh_options_e, _ value: Int32) {
        var v = value
        ssh_options_set(s, option, &v)
    }

    static func lastError(_ s: ssh_session) -> String {
        let msg = String(cString: ssh_get_error(UnsafeMutableRawPointer(s)))
        return msg.isEmpty ? "unknown libssh error" : msg
    }

    /// OpenSSH-style `SHA256:...` fingerprint of a public key.
    static func fingerprint(_ key: ssh_key) -> String? {
        var hash: UnsafeMutablePointer<UInt8>?
        var len = 0
        guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) == SSH_OK, let h = hash else {
            return nil
        }
        defer { ssh_clean_pubkey_hash(&hash) }
        guard let c = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, h, len) else { return nil }
        defer { ssh_string_free_char(c) }
        return String(cString: c)
    }

    static func keyTypeName(_ key: ssh_key) -> String {
        guard let c = ssh_key_type_to_char(ssh_key_type(key)) else { return "unknown" }
        return String(cString: c)
    }

    /// Names of the auth methods in a `ssh_userauth_list` bit mask.
    static func methodNames(_ mask: Int32) -> [String] {
        let m = UInt32(bitPattern: mask)
        var out: [String] = []
        if m & SSH_AUTH_METHOD_PUBLICKEY != 0 { out.append("publickey") }
        if m & SSH_AUTH_METHOD_PASSWORD != 0 { out.append("password") }
        if m & SSH_AUTH_METHOD_INTERACTIVE != 0 { out.append("keyboard-interactive") }
        if m & SSH_AUTH_METHOD_HOSTBASED != 0 { out.append("hostbased") }
        if m & SSH_AUTH_METHOD_GSSAPI_MIC != 0 { out.append("gssapi-with-mic") }
        return out
    }
}
