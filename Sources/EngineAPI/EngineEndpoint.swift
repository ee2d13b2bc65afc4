/// Where a Docker daemon listens (TCP + mutual TLS) and the client files used to reach it.
public struct EngineEndpoint: Sendable, Codable, Equatable, Hashable {
    /// Host name or IP literal, without IPv6 brackets.
    public var host: String
    public var port: Int
    public var tls: TLSFiles
    /// The machine's name, when known: used in error hints (`swock-machine regenerate-certs NAME`).
    public var machineName: String?
    /// The name or address the daemon's certificate must cover when that is not `host`: a
    /// machine behind jump hosts is reached at a local forward (127.0.0.1) but verified as itself.
    public var verifyName: String?
    /// Where this daemon's TLS session is kept between commands (nil: none kept, every
    /// connection is a full handshake). See `TLSSessions`.
    public var sessionFile: String?

    public static let defaultPort = 2376

    public init(
        host: String, port: Int = EngineEndpoint.defaultPort, tls: TLSFiles, machineName: String? = nil,
        verifyName: String? = nil, sessionFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.machineName = machineName
        self.verifyName = verifyName
        self.sessionFile = sessionFile
    }

    /// What the daemon's certificate is checked against: `verifyName`, else `host`.
    public var verifiedName: String { verifyName ?? host }

    /// Parses `tcp://HOST:PORT` (also `tcp://HOST`, port 2376; `tcp://[::1]:2376`; `https://`).
    public init(url: String, tls: TLSFiles, machineName: String? = nil) throws(EngineError) {
        let (host, port) = try EngineURL.parse(url)
        self.init(host: host, port: port, tls: tls, machineName: machineName)
    }

    /// `host:port`, with brackets around an IPv6 host: `[fd00::1]:2376`.
    public var address: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `tcp://host:port`, the DOCKER_HOST form.
    public var url: String { "tcp://" + address }
}
