import FleetSupport
import Foundation
import Testing

/// A `swock-machine` run in the background, so that a test can cut it off or act while it runs.
final class Background: @unchecked Sendable {
    let process = Process()
    let outPath: String
    let errPath: String

    init(_ argv: [String], environment: [String: String]) throws {
        let id = UUID().uuidString.prefix(8)
        outPath = NSTemporaryDirectory() + "ft-bg-\(id).out"
        errPath = NSTemporaryDirectory() + "ft-bg-\(id).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        // Spawned from a thread that blocks no signal: the test runner's threads block them all,
        // and a child inherits its spawning thread's mask.
        final class Box: @unchecked Sendable { var error: Error? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let p = process
        Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try p.run() } catch { box.error = error }
            done.signal()
        }.start()
        done.wait()
        if let e = box.error { throw e }
    }

    var isRunning: Bool { process.isRunning }

    /// Waits until the process exits or `limit` passes; true when it exited.
    func wait(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var status: Int32 { process.terminationStatus }
    var stdoutText: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderrText: String {
        ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
}

/// A flag one task sets and another polls.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
    func raise() { lock.lock(); set = true; lock.unlock() }
}

/// Results collected by a background loop.
final class ResultLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(String, Subprocess.Result)] = []
    func append(_ what: String, _ r: Subprocess.Result) { lock.lock(); items.append((what, r)); lock.unlock() }
    var all: [(String, Subprocess.Result)] { lock.lock(); defer { lock.unlock() }; return items }
}
