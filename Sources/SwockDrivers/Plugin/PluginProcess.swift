import Foundation
import Synchronization

/// A running plugin binary: started with MACHINE_PLUGIN_TOKEN=42 (libmachine's sign that it is
/// run as a plugin), its first stdout line its address; the rest of its output drained (stderr's
/// tail kept for error messages). `kill()` ends it for sure.
final class PluginProcess: Sendable {
    private struct Output {
        var stdout: [UInt8] = []
        var address: String?
        var stderrTail: [UInt8] = []
        var stdoutClosed = false
    }

    let binary: String
    private let process: Process
    private let output = Mutex(Output())
    private let addressReady = DispatchSemaphore(value: 0)

    private init(binary: String, process: Process) {
        self.binary = binary
        self.process = process
    }

    static func start(binary: String, extraEnvironment: [String: String] = [:]) throws(PluginError) -> PluginProcess {
        var env = ProcessInfo.processInfo.environment
        env["MACHINE_PLUGIN_TOKEN"] = "42"
        for (k, v) in extraEnvironment { env[k] = v }
        // A plugin binary that is still open for writing somewhere (being installed, or a
        // descriptor inherited by a child forked meanwhile) refuses to start with ETXTBSY for a
        // moment: tried again, with a new Process, for up to a second.
        var attempt = 0
        while true {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = []
            p.environment = env
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            p.standardInput = FileHandle.nullDevice
            do {
                try p.run()
            } catch {
                let cause = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
                if cause?.domain == NSPOSIXErrorDomain, cause?.code == Int(ETXTBSY), attempt < 10 {
                    attempt += 1
                    usleep(100_000)
                    continue
                }
                let detail =
                    cause.map { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : $0.localizedDescription }
                    ?? error.localizedDescription
                throw .startFailed(binary: binary, detail: detail)
            }
            let plugin = PluginProcess(binary: binary, process: p)
            plugin.drain(out.fileHandleForReading, isStdout: true)
            plugin.drain(err.fileHandleForReading, isStdout: false)
            return plugin
        }
    }

    private func drain(_ handle: FileHandle, isStdout: Bool) {
        let t = Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                output.withLock { o in
                    if isStdout {
                        guard o.address == nil else { return }
                        o.stdout += data
                        if let nl = o.stdout.firstIndex(of: 10) {
                            o.address = String(decoding: o.stdout[..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                            o.stdout = []
                            addressReady.signal()
                        }
                    } else {
                        o.stderrTail = Array((o.stderrTail + data).suffix(2048))
                    }
                }
            }
            try? handle.close()
            if isStdout {
                output.withLock { $0.stdoutClosed = true }
                addressReady.signal()
            }
        }
        t.name = "plugin-\(isStdout ? "stdout" : "stderr")"
        t.start()
    }

    /// The plugin's address (host, port), waiting up to `timeout` seconds for its first line.
    func address(timeout: Double) throws(PluginError) -> (host: String, port: Int) {
        let deadline = DispatchTime.now() + timeout
        while true {
            let (line, closed) = output.withLock { ($0.address, $0.stdoutClosed) }
            if let line {
                let parts = line.split(separator: ":")
                guard parts.count == 2, parts[0] == "127.0.0.1", let port = Int(parts[1]), port > 0, port < 65536 else {
                    throw .badAddress(binary: binary, line: line)
                }
                return ("127.0.0.1", port)
            }
            if closed { throw .noAddress(binary: binary, seconds: timeout, exited: true, stderr: lastWords()) }
            if addressReady.wait(timeout: deadline) == .timedOut {
                throw .noAddress(binary: binary, seconds: timeout, exited: false, stderr: lastWords())
            }
        }
    }

    /// The last line the plugin wrote on stderr.
    func lastWords() -> String {
        let tail = output.withLock { $0.stderrTail }
        let lines = String(decoding: tail, as: UTF8.self).split(whereSeparator: \.isNewline)
        return lines.last.map { String($0.prefix(300)) } ?? ""
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// Waits up to `grace` seconds for the plugin to exit, then kills it; returns when it is gone.
    func stop(grace: Double) {
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        // Not waitUntilExit: it can wait on as long as a child of the plugin holds its pipes.
        let reaped = Date().addingTimeInterval(5)
        while process.isRunning && Date() < reaped { usleep(10_000) }
    }
}
