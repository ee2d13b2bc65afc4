import Foundation

/// One blocking HTTP/1.1 request over a fresh TLS connection (`Connection: close`), bounded by a
/// single deadline covering connect, handshake, request and response. Runs on the calling thread.
enum HTTPExchange {
    static let maxBodySize = 16 << 20

    static func get(
        _ path: String, endpoint: EngineEndpoint, timeout: Duration,
        maxBodySize: Int = maxBodySize
    ) throws(EngineError) -> HTTPResponse {
        try send("GET", path, body: nil, endpoint: endpoint, timeout: timeout, maxBodySize: maxBodySize)
    }

    /// `method path`, with a JSON `body` when given.
    static func send(
        _ method: String, _ path: String, body: Data?, endpoint: EngineEndpoint, timeout: Duration,
        maxBodySize: Int = maxBodySize
    ) throws(EngineError) -> HTTPResponse {
        let deadline = ContinuousClock.now + timeout
        let (conn, sessionFile) = try connect(endpoint, timeout: timeout, deadline: deadline)
        return try roundTrip(
            method, path, body: body, on: conn, endpoint: endpoint, sessionFile: sessionFile, keepAlive: false,
            timeout: timeout, deadline: deadline, maxBodySize: maxBodySize
        ).response
    }

    /// A TLS connection to the daemon within `deadline`, offering the machine's saved session:
    /// the one this process read or saved before, or (`rereadSession`, for a process that
    /// outlives commands: the keeper) the file as it is now.
    static func connect(
        _ endpoint: EngineEndpoint, timeout: Duration, deadline: ContinuousClock.Instant, rereadSession: Bool = false
    ) throws(EngineError) -> (TLSConnection, TLSSessionFile?) {
        let sessionFile = endpoint.sessionFile.map { TLSSessionFile(path: $0) }
        do {
            let conn = try TLSConnection.connect(
                host: endpoint.host, port: endpoint.port, verifyName: endpoint.verifyName, files: endpoint.tls,
                session: sessionFile.flatMap { rereadSession ? $0.load() : TLSSessionCache.shared.session(for: $0) },
                timeoutMS: max(milliseconds(until: deadline), 1))
            return (conn, sessionFile)
        } catch {
            throw error.engineError(endpoint, timeout: timeout)
        }
    }

    /// What is left until `deadline`, in whole milliseconds (0 when past).
    static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = deadline - ContinuousClock.now
        let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }

    /// One request and its response on an open connection. `sessionFile`: where the session
    /// the daemon gives is saved (the first request on a connection). `keepAlive`: the request leaves the
    /// connection open (HTTP/1.1's default) and `reusable` says whether the response left it in
    /// a state for another request (its end known from its framing, no `Connection: close`).
    static func roundTrip(
        _ method: String, _ path: String, body: Data?, on conn: TLSConnection, endpoint: EngineEndpoint,
        sessionFile: TLSSessionFile?, keepAlive: Bool, timeout: Duration, deadline: ContinuousClock.Instant,
        maxBodySize: Int = maxBodySize
    ) throws(EngineError) -> (response: HTTPResponse, reusable: Bool) {
        try sendRequest(
            method, path, body: body, on: conn, endpoint: endpoint, keepAlive: keepAlive, timeout: timeout,
            deadline: deadline)
        var reader = ResponseReader(
            path: path, endpoint: endpoint, sessionFile: sessionFile, keepAlive: keepAlive, timeout: timeout,
            maxBodySize: maxBodySize)
        while true {
            if let done = try reader.readOnce(from: conn, deadline: deadline) { return done }
        }
    }

    /// Writes the request `method path` (with a JSON `body` when given) by `deadline`.
    static func sendRequest(
        _ method: String, _ path: String, body: Data?, on conn: TLSConnection, endpoint: EngineEndpoint,
        keepAlive: Bool, timeout: Duration, deadline: ContinuousClock.Instant
    ) throws(EngineError) {
        var request =
            "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.address)\r\nUser-Agent: swock-machine\r\n"
            + "Accept: application/json\r\n" + (keepAlive ? "" : "Connection: close\r\n")
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        request += "\r\n"
        do {
            conn.setTimeout(ms: max(milliseconds(until: deadline), 1))
            try conn.write(Array(request.utf8) + (body.map { [UInt8]($0) } ?? []))
        } catch {
            throw error.engineError(endpoint, timeout: timeout, receivedAnything: false)
        }
    }

    /// The response to one request, read a piece at a time: `readOnce` reads once and gives the
    /// response when it is complete, so that one thread can wait for several connections
    /// (`KeptEngineConnection.pingAll`) as well as for one (`roundTrip`).
    struct ResponseReader {
        let path: String
        let endpoint: EngineEndpoint
        /// Where the session the daemon gives is saved (the first request on a connection).
        let sessionFile: TLSSessionFile?
        let keepAlive: Bool
        /// The whole exchange's limit, for the error that says it passed.
        let timeout: Duration
        private var parser: HTTPResponseParser
        private var buffer: [UInt8]
        private var received = 0
        private var reachedEOF = false

        init(
            path: String, endpoint: EngineEndpoint, sessionFile: TLSSessionFile?, keepAlive: Bool, timeout: Duration,
            maxBodySize: Int = HTTPExchange.maxBodySize
        ) {
            self.path = path
            self.endpoint = endpoint
            self.sessionFile = sessionFile
            self.keepAlive = keepAlive
            self.timeout = timeout
            parser = HTTPResponseParser(maxBodySize: maxBodySize)
            buffer = [UInt8](repeating: 0, count: keepAlive ? 16 << 10 : 64 << 10)
        }

        /// Reads once from `conn`: the response and whether the connection can carry another
        /// request once it is complete, nil while more is to come. `waiting`: the read waits for
        /// data until `deadline`; else it takes only what has arrived (a session ticket or part of
        /// a record is no answer yet), for a caller that polls.
        mutating func readOnce(
            from conn: TLSConnection, deadline: ContinuousClock.Instant, waiting: Bool = true
        ) throws(EngineError) -> (response: HTTPResponse, reusable: Bool)? {
            if !parser.isComplete && !reachedEOF {
                let left = milliseconds(until: deadline)
                if left <= 0 { throw .timedOut(endpoint, after: timeout, during: "reading the response") }
                let n: Int
                do {
                    if waiting {
                        conn.setTimeout(ms: left)
                        n = try conn.read(into: &buffer)
                    } else {
                        guard let got = try conn.readAvailable(into: &buffer) else { return nil }
                        n = got
                    }
                } catch {
                    throw error.engineError(endpoint, timeout: timeout, receivedAnything: received > 0)
                }
                if n == 0 {
                    reachedEOF = true
                } else {
                    // The handshake is counted (and its session saved) with the connection's first
                    // response: a later request on a kept connection (keep-alive, no session file) had none.
                    if received == 0 && (sessionFile != nil || !keepAlive) {
                        TLSSessionCache.shared.finished(conn, endpoint: endpoint, file: sessionFile)
                    }
                    received += n
                    do {
                        try parser.feed(buffer[..<n])
                    } catch {
                        throw .invalidResponse(endpoint, path: path, detail: error.description)
                    }
                }
            }
            guard parser.isComplete || reachedEOF else { return nil }
            let response: HTTPResponse
            do {
                response = try parser.finish()
            } catch {
                if received == 0 {
                    throw .connectionClosed(endpoint, detail: "no response to \(path)")
                }
                throw .invalidResponse(endpoint, path: path, detail: error.description)
            }
            let reusable = keepAlive && !reachedEOF && response.headers["Connection"]?.lowercased() != "close"
            return (response, reusable)
        }
    }
}
