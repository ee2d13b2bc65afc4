import Foundation
import SwockSupport

/// A blocking QEMU Machine Protocol client on a UNIX socket: one connection per call (the
/// socket is `server=on,wait=off`, so QEMU takes a new client whenever the last one left).
/// Call from a thread of your own (`OffPool`).
enum QMPClient {
    /// Runs `command` and returns its "return" value (events before it are skipped).
    static func execute(socket path: String, command: String, arguments: [String: String] = [:], timeoutMs: Int = 5000) throws -> Any {
        let fd = try connect(path, timeoutMs: timeoutMs)
        defer { close(fd) }
        var reader = LineReader(fd: fd, path: path)
        _ = try reader.nextObject()  // the greeting
        try send(fd, ["execute": "qmp_capabilities"], path: path)
        _ = try reader.response()
        var message: [String: Any] = ["execute": command]
        if !arguments.isEmpty { message["arguments"] = arguments }
        try send(fd, message, path: path)
        return try reader.response()
    }

    /// The guest's run state as QMP's query-status names it ("running", "paused", "shutdown",
    /// "internal-error", "guest-panicked", ...).
    static func status(socket path: String, timeoutMs: Int = 3000) throws -> String {
        let r = try execute(socket: path, command: "query-status", timeoutMs: timeoutMs)
        guard let o = r as? [String: Any], let s = o["status"] as? String else {
            throw QemuError.qmp(path: path, detail: "query-status returned no status")
        }
        return s
    }

    private static func connect(_ path: String, timeoutMs: Int) throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw QemuError.socketPathTooLong(path: path) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw QemuError.qmp(path: path, detail: LocalFileError.errnoText()) }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: Int((timeoutMs % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let text = LocalFileError.errnoText()
            close(fd)
            throw QemuError.qmp(path: path, detail: text)
        }
        return fd
    }

    private static func send(_ fd: Int32, _ message: [String: Any], path: String) throws {
        var data = try JSONSerialization.data(withJSONObject: message)
        data.append(0x0A)
        guard writeAll(fd, data) else { throw QemuError.qmp(path: path, detail: LocalFileError.errnoText()) }
    }

    private struct LineReader {
        let fd: Int32
        let path: String
        var buffer = Data()

        mutating func nextObject() throws -> [String: Any] {
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    let line = buffer[buffer.startIndex..<nl]
                    buffer = Data(buffer[(nl + 1)...])
                    if line.isEmpty { continue }
                    guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                        throw QemuError.qmp(path: path, detail: "not a JSON object")
                    }
                    return o
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    throw QemuError.qmp(
                        path: path, detail: (errno == EAGAIN || errno == EWOULDBLOCK) ? "no answer in time" : LocalFileError.errnoText())
                }
                if n == 0 { throw QemuError.qmp(path: path, detail: "the monitor closed the connection") }
                buffer.append(contentsOf: chunk[0..<n])
            }
        }

        /// The next "return" (events skipped); an "error" is thrown with its class.
        mutating func response() throws -> Any {
            while true {
                let o = try nextObject()
                if let r = o["return"] { return r }
                if let e = o["error"] as? [String: Any] {
                    throw QemuError.qmp(path: path, detail: "\(e["class"] as? String ?? "error"): \(e["desc"] as? String ?? "")")
                }
            }
        }
    }
}
