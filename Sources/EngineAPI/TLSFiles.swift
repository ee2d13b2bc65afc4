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
