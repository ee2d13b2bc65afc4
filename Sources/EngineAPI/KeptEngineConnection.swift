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
        var outcome: Result<Ping, EngineError> = .failure(.connectionClosed(endpoint, detail: "no answer"))
        Self.pingAll([self], timeout: timeout, deadline: .now + timeout) { _, result in outcome = result }
        return try outcome.get()
    }

    /// GET /_ping on every connection at once, from the calling thread: each request is written,
    /// then the answers are read as they arrive (poll) until `deadline`. `answered` is called on
    /// this thread with each connection's index and outcome as soon as it is known (a closed
    /// connection fails at once, not at the deadline); a connection still silent at the deadline
    /// gets `timedOut`. A failure leaves that connection unusable.
    public static func pingAll(
        _ conns: [KeptEngineConnection], timeout: Duration, deadline: ContinuousClock.Instant,
        answered: (Int, Result<Ping, EngineError>) -> Void
    ) {
        var readers: [Int: HTTPExchange.ResponseReader] = [:]
        for (i, c) in conns.enumerated() {
            guard c.reusable else {
                answered(i, .failure(.connectionClosed(c.endpoint, detail: "the kept connection was closed")))
                continue
            }
            c.reusable = false
            do {
                try HTTPExchange.sendRequest(
                    "GET", "/_ping", body: nil, on: c.conn, endpoint: c.endpoint, keepAlive: true, timeout: timeout,
                    deadline: deadline)
                readers[i] = HTTPExchange.ResponseReader(
                    path: "/_ping", endpoint: c.endpoint, sessionFile: c.sessionFile, keepAlive: true, timeout: timeout,
                    maxBodySize: 64 << 10)
            } catch {
                answered(i, .failure(error))
            }
        }
        while !readers.isEmpty {
            let waiting = readers.keys.sorted()
            // Bytes OpenSSL already took from the socket are not announced by poll.
            var ready = waiting.filter { conns[$0].conn.hasBufferedData }
            if ready.isEmpty {
                let left = HTTPExchange.milliseconds(until: deadline)
                if left <= 0 { break }
                var fds = waiting.map { pollfd(fd: conns[$0].conn.fileDescriptor, events: Int16(POLLIN), revents: 0) }
                let n = poll(&fds, nfds_t(fds.count), left)
                if n < 0 && errno != EINTR { break }
                ready = zip(waiting, fds).filter { $0.1.revents != 0 }.map(\.0)
            }
            for i in ready {
                do {
                    guard let (response, keep) = try readers[i]?.readOnce(from: conns[i].conn, deadline: deadline, waiting: false) else {
                        continue
                    }
                    readers[i] = nil
                    answered(i, conns[i].answer(response, reusable: keep))
                } catch {
                    readers[i] = nil
                    answered(i, .failure(error))
                }
            }
        }
        for i in readers.keys.sorted() {
            answered(i, .failure(.timedOut(conns[i].endpoint, after: timeout, during: "reading the response")))
        }
    }

    /// The ping's outcome from its response; a good one leaves the connection ready for the next.
    private func answer(_ response: HTTPResponse, reusable keep: Bool) -> Result<Ping, EngineError> {
        sessionFile = nil  // the session the daemon gave with the first response is saved
        guard (200..<300).contains(response.status) else {
            return .failure(
                .http(endpoint, status: response.status, path: "/_ping", message: EngineClient.errorMessage(response)))
        }
        reusable = keep
        answered += 1
        return .success(Ping(headers: response.headers))
    }
}
