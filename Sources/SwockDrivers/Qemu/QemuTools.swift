import Foundation
import SwockRuntime
import SwockSupport

/// The local programs the qemu driver runs, found on PATH; each run blocking on the caller's
/// thread (the driver's public methods run on `OffPool` threads).
struct QemuTools: Sendable {
    let environment: [String: String]

    var searchPath: [String] { (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init) }

    /// The absolute path of `program`, or `programMissing` naming the Debian package.
    func find(_ program: String) throws -> String {
        if let p = LocalProcess.find(program, path: environment["PATH"]) { return p }
        throw QemuError.programMissing(program: program, package: Self.package(of: program), searched: searchPath)
    }

    static func package(of program: String) -> String {
        switch program {
        case "qemu-system-x86_64": return "qemu-system-x86"
        case "qemu-img": return "qemu-utils"
        case "cloud-localds": return "cloud-image-utils"
        case "sha256sum": return "coreutils"
        default: return program
        }
    }

    struct Output {
        var exit: LocalProcess.Exit
        var stdout: String
        var stderr: String
        var ok: Bool { exit.status == 0 }
    }

    /// Runs a tool to the end; stderr passes through to ours when `passStderr` (a progress bar).
    func run(_ program: String, _ args: [String], timeout: Duration = .seconds(600), passStderr: Bool = false) throws -> Output {
        let path = try find(program)
        var out = Data(), err = Data()
        // The VM's QEMU outlives us (-daemonize): it gets none of our descriptors beyond 0-2.
        let exit = try LocalProcess.runBlocking(
            [path] + args, environment: environment, timeout: timeout, closeOthers: true,
            onStdout: { out.append($0) },
            onStderr: { d in if passStderr { StandardStreams.err(d) } else { err.append(d) } })
        return Output(exit: exit, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs a tool and throws `toolFailed` unless it exits 0.
    @discardableResult
    func check(_ program: String, _ args: [String], timeout: Duration = .seconds(600), passStderr: Bool = false) throws -> Output {
        let o = try run(program, args, timeout: timeout, passStderr: passStderr)
        guard o.ok else { throw QemuError.toolFailed(tool: program, status: o.exit.status, stderr: o.stderr) }
        return o
    }

    /// The SHA-256 of a file, lower-case hex.
    func sha256(of path: String) throws -> String {
        let o = try check("sha256sum", ["--", path])
        guard let hex = o.stdout.split(separator: " ").first, hex.count == 64 else {
            throw QemuError.toolFailed(tool: "sha256sum", status: o.exit.status, stderr: o.stdout)
        }
        return String(hex)
    }

    /// What `qemu-img info` says of a file.
    struct ImageInfo {
        var format: String
        var virtualSize: Int64
        var backingFile: String?
    }

    func imageInfo(_ path: String) throws -> ImageInfo {
        let o = try run("qemu-img", ["info", "--output=json", "--", path], timeout: .seconds(60))
        guard o.ok else { throw QemuError.notADiskImage(path: path, detail: "qemu-img cannot read it") }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any],
            let format = obj["format"] as? String, let size = (obj["virtual-size"] as? NSNumber)?.int64Value
        else { throw QemuError.notADiskImage(path: path, detail: "qemu-img info gave no format") }
        return ImageInfo(format: format, virtualSize: size, backingFile: obj["backing-filename"] as? String)
    }
}

/// Free TCP ports on 127.0.0.1, as the kernel hands them out (bound to port 0, then closed).
enum FreePorts {
    static func take(_ count: Int) throws -> [Int] {
        var fds: [Int32] = [], ports: [Int] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw LocalFileError(path: "socket", reason: LocalFileError.errnoText()) }
            fds.append(fd)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = 0
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                    bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
                }
            }
            guard ok else { throw LocalFileError(path: "127.0.0.1:0", reason: LocalFileError.errnoText()) }
            ports.append(Int(UInt16(bigEndian: a.sin_port)))
        }
        return ports
    }
}

/// Does an SSH server answer at 127.0.0.1:port (its "SSH-" banner, not only a TCP accept:
/// QEMU's user-mode forward accepts before the guest listens)?
enum SSHBanner {
    static func answers(host: String, port: Int, timeoutMs: Int32) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = inet_addr(host)
        var tv = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int((timeoutMs % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { return false }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buf, buf.count)
        return n >= 4 && buf[0..<4] == [0x53, 0x53, 0x48, 0x2D]  // "SSH-"
    }
}
