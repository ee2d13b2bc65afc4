import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `openssl s_server` on 127.0.0.1 and a free port, for the lifetime of `body` (always killed).
/// It requires a client certificate signed by the CA (`-Verify 1 -verify_return_error`).
struct OpenSSLServer {
    let port: Int

    enum Mode {
        case www  // -www: an HTML status page, HTTP/1.0, body until EOF
        case http(root: String)  // -HTTP: serves files holding complete HTTP responses
        case silent  // handshake, then never answers
    }

    static func with<T>(
        cert: String, key: String, ca: String, mode: Mode, extra: [String] = [],
        _ body: (OpenSSLServer) async throws -> T
    ) async throws -> T {
        for _ in 0..<5 {
            let port = try freePort()
            var args = [
                "s_server", "-Verify", "1", "-verify_return_error", "-CAfile", ca, "-cert", cert,
                "-key", key, "-accept", "127.0.0.1:\(port)", "-naccept", "50",
            ]
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            let stdin = Pipe()  // kept open: s_server must not see EOF on stdin
            switch mode {
            case .www: args.append("-www")
            case .http(let root): args.append("-HTTP"); p.currentDirectoryURL = URL(fileURLWithPath: root)
            case .silent: break
            }
            p.arguments = args + extra
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("s_server-\(port)-\(UUID().uuidString.prefix(6)).log")
                .path
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let out = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            p.standardOutput = out
            p.standardError = out
            p.standardInput = stdin
            try p.run()
            defer {
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                p.waitUntilExit()
                try? out.close()
                try? FileManager.default.removeItem(atPath: log)
            }
            // Ready when it prints ACCEPT; gone means the port was taken: try another one.
            var ready = false
            for _ in 0..<250 where p.isRunning {
                if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("ACCEPT") { ready = true; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            if !ready && p.isRunning {
                throw TestSupportError("s_server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            if !ready { continue }
            return try await body(OpenSSLServer(port: port))
        }
        throw TestSupportError("s_server could not bind a port")
    }

    /// A loopback port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket failed") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestSupportError("bind failed") }
        return try boundPort(fd)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return addr
    }

    static func boundPort(_ fd: Int32) throws -> Int {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let r = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard r == 0 else { throw TestSupportError("getsockname failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A loopback socket that listens but never accepts or answers: connects succeed (the kernel
/// completes them), then nothing ever comes back.
final class Blackhole {
    let fd: Int32
    let port: Int

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw TestSupportError("socket failed") }
        var addr = OpenSSLServer.loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(sock, 16) == 0, let p = try? OpenSSLServer.boundPort(sock) else {
            close(sock)
            throw TestSupportError("bind/listen failed")
        }
        fd = sock
        port = p
    }

    deinit { close(fd) }
}
