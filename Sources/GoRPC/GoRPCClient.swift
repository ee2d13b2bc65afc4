import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a net/rpc call can fail with. Causes are values.
public enum GoRPCError: Error, Equatable, Sendable {
    /// The TCP connection to host:port failed (errno).
    case connect(host: String, port: Int, errno: Int32)
    /// The server did not answer CONNECT /_goRPC_ as Go's net/rpc does (its first line, or why).
    case handshake(String)
    /// The server's method returned an error (its text, as net/rpc carries it).
    case server(method: String, message: String)
    /// No answer in time.
    case timeout(method: String, seconds: Double)
    /// The connection closed before the answer came (the plugin exited, or close()).
    case closed(method: String)
    /// The bytes on the connection are not the gob net/rpc sends.
    case protocolError(GobError)
}

/// Go's net/rpc messages: every call is a Request header then the argument; every answer a
/// Response header then the reply (an empty struct when Error is set).
public enum GoRPCTypes {
    public static let request = GobType.structure("Request", ("ServiceMethod", .string), ("Seq", .uint))
    public static let response = GobType.structure("Response", ("ServiceMethod", .string), ("Seq", .uint), ("Error", .string))
    /// `struct{}`: the argument of methods that take none (Go sends it without a name).
    public static let empty = GobType.structure(name: "", fields: [])
    public static let emptyValue = GobValue.structure([:])
}

/// A client of Go's net/rpc over HTTP (rpc.DialHTTP): `CONNECT /_goRPC_ HTTP/1.0`, then one gob
/// stream each way. Calls may overlap (a heartbeat while Create runs); answers are matched by
/// sequence number on a reader thread of the client's own.
public final class GoRPCClient: Sendable {
    private struct State {
        var encoder = GobEncoder()
        var seq: UInt64 = 0
        var pending: [UInt64: (method: String, continuation: CheckedContinuation<GobValue, any Error>)] = [:]
        var closed = false
    }

    private let fd: Int32
    private let state: Mutex<State>
    /// Serializes writes of whole calls (header and argument) on the socket.
    private let writeLock = Mutex<Void>(())

    /// Connects to a loopback net/rpc server and does the HTTP handshake.
    public static func connect(host: String = "127.0.0.1", port: Int, timeout: Double = 10) throws -> GoRPCClient {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw GoRPCError.connect(host: host, port: port, errno: errno) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard port > 0, port < 65536, inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            Glibc.close(fd)
            throw GoRPCError.connect(host: host, port: port, errno: EINVAL)
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw GoRPCError.connect(host: host, port: port, errno: e)
        }
        do {
            try writeAll(fd, Array("CONNECT /_goRPC_ HTTP/1.0\n\n".utf8))
            var head: [UInt8] = []
            while !(head.suffix(2) == [10, 10] || head.suffix(4) == [13, 10, 13, 10]) {
                guard head.count < 4096, let b = try readExactly(fd, 1) else {
                    throw GoRPCError.handshake(head.isEmpty ? "the connection closed" : "no end of the HTTP answer")
                }
                head += b
            }
            let first = String(decoding: head, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard first.trimmingCharacters(in: .whitespaces).hasSuffix(" 200 Connected to Go RPC") else {
                throw GoRPCError.handshake(first)
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        // From here the reader thread waits as long as the connection lives.
        var none = timeval()
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
        let client = GoRPCClient(fd: fd)
        client.startReader()
        return client
    }

    private init(fd: Int32) {
        self.fd = fd
        self.state = Mutex(State())
    }

    /// Calls `method` ("RPCServerDriver.GetVersion") with one argument; returns the reply value.
    public func call(
        _ method: String, argument: (GobType, GobValue) = (GoRPCTypes.empty, GoRPCTypes.emptyValue),
        timeout: Double
    ) async throws -> GobValue {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<GobValue, any Error>) in
            let prepared: Result<(UInt64, [UInt8]), any Error> = state.withLock { s in
                if s.closed { return .failure(GoRPCError.closed(method: method)) }
                let seq = s.seq
                s.seq += 1
                do {
                    var bytes = try s.encoder.encode(GoRPCTypes.request, .structure(["ServiceMethod": .string(method), "Seq": .uint(seq)]))
                    bytes += try s.encoder.encode(argument.0, argument.1)
                    s.pending[seq] = (method, continuation)
                    return .success((seq, bytes))
                } catch let e as GobError {
                    return .failure(GoRPCError.protocolError(e))
                } catch {
                    return .failure(error)
                }
            }
            switch prepared {
            case .failure(let e):
                continuation.resume(throwing: e)
            case .success(let (seq, bytes)):
                do {
                    try writeLock.withLock { _ in try Self.writeAll(fd, bytes) }
                } catch {
                    finish(seq, .failure(GoRPCError.closed(method: method)))
                    return
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in
                    self?.finish(seq, .failure(GoRPCError.timeout(method: method, seconds: timeout)))
                }
            }
        }
    }

    /// Ends the connection; calls still waiting fail with `.closed`.
    public func close() {
        let wasOpen = state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
        if wasOpen { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { close() }

    private func finish(_ seq: UInt64, _ result: Result<GobValue, any Error>) {
        let waiting = state.withLock { s in s.pending.removeValue(forKey: seq) }
        waiting?.continuation.resume(with: result)
    }

    private func startReader() {
        let fd = self.fd
        let thread = Thread { [weak self] in
            let decoder = GobDecoder(read: { n in try Self.readExactly(fd, n) })
            var failure: GobError?
            do {
                while true {
                    guard let (_, header) = try decoder.decode() else { break }
                    guard let (_, body) = try decoder.decode() else { throw GobError.truncated }
                    guard let self else { break }
                    let seq = header["Seq"].flatMap { v -> UInt64? in if case .uint(let u) = v { return u } else { return nil } } ?? 0
                    let message = header["Error"]?.stringValue ?? ""
                    let method = header["ServiceMethod"]?.stringValue ?? ""
                    self.finish(seq, message.isEmpty ? .success(body) : .failure(GoRPCError.server(method: method, message: message)))
                }
            } catch let e as GobError {
                failure = e
            } catch {}
            if let self {
                let waiting = self.state.withLock { s in
                    s.closed = true
                    defer { s.pending = [:] }
                    return s.pending
                }
                for (_, w) in waiting {
                    w.continuation.resume(throwing: failure.map { GoRPCError.protocolError($0) } ?? GoRPCError.closed(method: w.method))
                }
            }
            Glibc.close(fd)
        }
        thread.name = "go-rpc-reader"
        thread.start()
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw GoRPCError.closed(method: "")
            }
            off += n
        }
    }

    /// Exactly n bytes; nil when the connection ended before the first one.
    static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw GoRPCError.handshake("no answer in time") }
                if got == 0 { return nil }
                throw GobError.truncated
            }
            if n == 0 {
                if got == 0 { return nil }
                throw GobError.truncated
            }
            got += n
        }
        return out
    }
}
