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
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        func remainingMS() -> Int32 {
            let left = deadline - clock.now
            let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
            return Int32(clamping: max(ms, 0))
        }
        func timedOut(_ during: String) -> EngineError { .timedOut(endpoint, after: timeout, during: during) }

        let conn: TLSConnection
        let sessionFile = endpoint.sessionFile.map { TLSSessionFile(path: $0) }
        do {
            conn = try TLSConnection.connect(
                host: endpoint.host, port: endpoint.port, verifyName: endpoint.verifyName, files: endpoint.tls,
                session: sessionFile.flatMap { TLSSessionCache.shared.session(for: $0) },
                timeoutMS: max(remainingMS(), 1))
        } catch {
            throw error.engineError(endpoint, timeout: timeout)
        }

        var request =
            "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.address)\r\nUser-Agent: swock-machine\r\n"
            + "Accept: application/json\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        request += "\r\n"
        do {
            conn.setTimeout(ms: max(remainingMS(), 1))
            try conn.write(Array(request.utf8) + (body.map { [UInt8]($0) } ?? []))
        } catch {
            throw error.engineError(endpoint, timeout: timeout, receivedAnything: false)
        }

        var parser = HTTPResponseParser(maxBodySize: maxBodySize)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var received = 0
        while !parser.isComplete {
            let left = remainingMS()
            if left <= 0 { throw timedOut("reading the response") }
            conn.setTimeout(ms: left)
            let n: Int
            do {
                n = try conn.read(into: &buffer)
            } catch {
                throw error.engineError(endpoint, timeout: timeout, receivedAnything: received > 0)
            }
            if n == 0 { break }
            if received == 0 { TLSSessionCache.shared.finished(conn, endpoint: endpoint, file: sessionFile) }
            received += n
            do {
                try parser.feed(buffer[..<n])
            } catch {
                throw .invalidResponse(endpoint, path: path, detail: error.description)
            }
        }
        do {
            return try parser.finish()
        } catch {
            if received == 0 {
                throw .connectionClosed(endpoint, detail: "no response to \(path)")
            }
            throw .invalidResponse(endpoint, path: path, detail: error.description)
        }
    }
}
