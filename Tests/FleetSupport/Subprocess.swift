import Foundation

/// Runs a local program off the cooperative pool (its own threads) and collects its output.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    public static func run(
        _ argv: [String], stdin: Data? = nil, environment: [String: String]? = nil,
        currentDirectory: String? = nil
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { cont in
            let t = Thread {
                // Threads of the test runner block every signal, and a child inherits its
                // spawning thread's mask: `timeout`, `kill` and our own deadlines would not work.
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
                do {
                    cont.resume(
                        returning: try runBlocking(argv, stdin: stdin, environment: environment, currentDirectory: currentDirectory))
                } catch { cont.resume(throwing: error) }
            }
            t.start()
        }
    }

    public static func runBlocking(
        _ argv: [String], stdin: Data? = nil, environment: [String: String]? = nil,
        currentDirectory: String? = nil
    ) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        if let environment { p.environment = environment }
        if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
        try p.run()
        if let stdin {
            let w = inp.fileHandleForWriting
            Thread {
                try? w.write(contentsOf: stdin); try? w.close()
            }.start()
        }
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let done = DispatchSemaphore(value: 0)
        let errReader = err.fileHandleForReading
        Thread {
            errBox.data = errReader.readDataToEndOfFile(); done.signal()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: outData, stderr: errBox.data)
    }
}
