import Foundation

/// A TLS connection to one daemon that stays open between requests (HTTP/1.1 keep-alive), for
/// a process that asks the same daemons again and again: the connection keeper answers `ls`
/// over these, so a listing costs each daemon one request instead of a TLS handshake. The daemon
/// was verified when the connection opened (a full handshake, or a resumed one under the same
/// files and name, its certificate checked again); whoever holds it closes it when the
/// machine's record or TLS files change. Used by one thread at a time.
// `@unchecked Sendable`: one thread uses it at a time; the keeper's pool hands it over under its Mutex.
public final class KeptEngineConnection: @unchecked Sendable {
    public let endpoint: EngineEndpoint
    private let conn: TLSConnection
    private var sessionFile: TLSSessionFile?
    /// False once a response ended the connection (or left it unusable): do not ask it again.
    public private(set) var reusable = true
    /// Requests answered on it.
    public private(set) var answered = 0

    private init(endpoint: EngineEndpoint, conn: TLSConnection, sessionFile: TLSSessionFile?) {
        self.endpoint = endpoint
        self.conn = conn
        self.sessionFile = sessionFile
    }

    /// Connects within `timeout`, offering the machine's saved session as every client does
    /// (read from its file each time: the holder outlives the commands that change it).
    public static func open(_ endpoint: EngineEndpoint, timeout: Duration) throws(EngineError) -> KeptEngineConnection {
        let (conn, file) = try HTTPExchange.connect(endpoint, timeout: timeout, deadline: .now + timeout, rereadSession: true)
        return KeptEngineConnection(endpoint: endpoint, conn: conn, sessionFile: file)
    }

    /// GET /_ping within `timeout`. A failure leaves the connection unusable.
    public func ping(timeout: Duration) throws(EngineError) -> Ping {
        guard reusable else { throw .connectionClosed(endpoint, detail: "the kept connection was closed") }
        reusable = false
        let (response, keep) = try HTTPExchange.roundTrip(
            "GET", "/_ping", body: nil, on: conn, endpoint: endpoint, sessionFile: sessionFile, keepAlive: true,
            timeout: timeout, deadline: .now + timeout, maxBodySize: 64 << 10)
        sessionFile = nil  // the session the daemon gave with the first response is saved
        guard (200..<300).contains(response.status) else {
            throw .http(endpoint, status: response.status, path: "/_ping", message: EngineClient.errorMessage(response))
        }
        reusable = keep
        answered += 1
        return Ping(headers: response.headers)
    }
}
