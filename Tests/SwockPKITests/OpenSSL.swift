import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private func sigkill(_ pid: Int32) { _ = kill(pid, SIGKILL) }

/// Result of running a child process.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
    var output: String { stdout + stderr }
}

/// Runs the openssl CLI (and other tools) with a hard timeout; output goes through files, not pipes.
enum Tool {
    static let openssl = ["/usr/bin/env", "openssl"]

    static func openssl(_ args: [String], stdin: String? = nil, in dir: URL, timeout: TimeInterval = 30) throws -> ProcessResult {
        try run(openssl + args, stdin: stdin, in: dir, timeout: timeout)
    }

    static func run(_ argv: [String], stdin: String? = nil, in dir: URL, timeout: TimeInterval = 30) throws -> ProcessResult {
        let running = try start(argv, stdin: stdin, in: dir)
        let deadline = Date().addingTimeInterval(timeout)
        while running.process.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = running.process.isRunning
        if timedOut { running.kill() }
        running.process.waitUntilExit()
        return running.finish(timedOut: timedOut)
    }

    /// Starts a process in the background; call `stop()` on the result.
    static func start(_ argv: [String], stdin: String? = nil, in dir: URL) throws -> RunningProcess {
        let id = UUID().uuidString
        let outURL = dir.appendingPathComponent("\(id).out")
        let errURL = dir.appendingPathComponent("\(id).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.currentDirectoryURL = dir
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        // stdin comes from a file, not a pipe: writing to a pipe whose reader already exited raises SIGPIPE.
        if let stdin {
            let inURL = dir.appendingPathComponent("\(id).in")
            try Data(stdin.utf8).write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return RunningProcess(process: process, outURL: outURL, errURL: errURL)
    }
}

struct RunningProcess {
    let process: Process
    let outURL: URL
    let errURL: URL

    var currentStdout: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }

    func finish(timedOut: Bool) -> ProcessResult {
        ProcessResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
            timedOut: timedOut
        )
    }

    /// SIGKILL: children of the test runner inherit its blocked signal mask, so SIGTERM
    /// (`Process.terminate()`) is never delivered and waiting would hang.
    func kill() {
        if process.isRunning { sigkill(process.processIdentifier) }
    }

    func stop() {
        kill()
        process.waitUntilExit()
    }
}

/// A temporary directory removed by `remove()`.
struct TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("swockpki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }

    func read(_ name: String) throws -> String {
        try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
func freeLocalPort() -> UInt16? {
    #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr -> Bool in
            bind(fd, ptr, len) == 0 && getsockname(fd, ptr, &len) == 0
        }
    }
    return bound ? UInt16(bigEndian: addr.sin_port) : nil
}
