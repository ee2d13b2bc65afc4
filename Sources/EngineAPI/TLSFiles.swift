import CTLS

/// The three PEM files of a Docker TLS client: our CA, our client certificate and its key
/// (the layout of `DOCKER_CERT_PATH`).
public struct TLSFiles: Sendable, Codable, Equatable, Hashable {
    public var caPath: String
    public var certPath: String
    public var keyPath: String

    public init(caPath: String, certPath: String, keyPath: String) {
        self.caPath = caPath
        self.certPath = certPath
        self.keyPath = keyPath
    }

    /// `directory/ca.pem`, `directory/cert.pem`, `directory/key.pem`.
    public init(directory: String) {
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        let prefix = dir == "/" ? "/" : dir + "/"
        self.init(caPath: prefix + "ca.pem", certPath: prefix + "cert.pem", keyPath: prefix + "key.pem")
    }
}

/// Process-wide OpenSSL setting.
public enum TLSRuntime {
    /// OpenSSL without its atexit cleanup: threads still inside OpenSSL while the process exits
    /// (libssh closing a jump host's channel, a TLS close) would crash on locks the cleanup freed.
    /// CLazyLink's loader does this when OpenSSL is loaded (on first use); calling it loads OpenSSL.
    public static func keepOpenSSLAtExit() { ctls_keep_openssl_at_exit() }
}
