extension Store {
    /// The file in a machine's directory that keeps its daemon's TLS session between commands
    /// (EngineAPI's `TLSSessionFile`: 0600, bounded lifetime). `rm` takes it with the directory;
    /// `regenerate-certs` wipes it; never exported.
    public static let tlsSessionFile = "tls-session"

    public func tlsSessionPath(_ name: String) -> String { machineDir(name) + "/" + Self.tlsSessionFile }
}
