import Foundation
import SSHKit
import SwockRemote
import SwockStore
import SwockSupport
import Synchronization

/// A provision script that did not succeed. The machine is usable (its engine answers); the
/// record says which script failed, how, and its last lines.
public struct ProvisionScriptFailed: CodedError, Equatable {
    public var code: ErrorCode { "provision.script-failed" }
    public var machine: String
    public var script: String
    public var run: ScriptRun

    public init(machine: String, script: String, run: ScriptRun) {
        self.machine = machine
        self.script = script
        self.run = run
    }

    public init?(_ config: MachineConfig) {
        guard let s = config.failedScript, let r = s.lastRun else { return nil }
        self.init(machine: config.name, script: s.source, run: r)
    }

    /// "provision script S failed (exit status 3)": what ls shows.
    public var summary: String { "provision script \(script) failed (\(run.outcomeText))" }

    public var description: String {
        let tail = run.lastLines.suffix(5).map { $0.count > 200 ? String($0.prefix(200)) + "..." : $0 }
        let last = tail.isEmpty ? "" : "; last lines: " + tail.joined(separator: " | ")
        return
            "\(machine): \(summary)\(last)"
    }
}

/// Splits a script's output into lines and keeps the last ones (output arrives on the session's
/// thread; `finish` is called from the step).
final class ScriptOutput: Sendable {
    private struct State {
        var partial: [Data] = [Data(), Data()]
        var last: [String] = []

        mutating func remember(_ lines: [String], keep: Int) {
            last.append(contentsOf: lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 })
            if last.count > keep { last.removeFirst(last.count - keep) }
        }
    }

    private let state = Mutex(State())
    private let keep: Int
    private let emit: @Sendable (String) -> Void

    init(keep: Int = 10, emit: @escaping @Sendable (String) -> Void) {
        self.keep = keep
        self.emit = emit
    }

    func feed(_ data: Data, stream: Int) {
        let lines = state.withLock { s -> [String] in
            var lines: [String] = []
            s.partial[stream].append(data)
            while let nl = s.partial[stream].firstIndex(of: UInt8(ascii: "\n")) {
                let line = s.partial[stream][s.partial[stream].startIndex..<nl]
                lines.append(String(decoding: line, as: UTF8.self))
                s.partial[stream] = Data(s.partial[stream][(nl + 1)...])
            }
            s.remember(lines, keep: keep)
            return lines
        }
        for l in lines { emit(l) }
    }

    /// Flushes unterminated lines; returns the last lines kept.
    func finish() -> [String] {
        let (rest, out) = state.withLock { s -> ([String], [String]) in
            let rest = s.partial.filter { !$0.isEmpty }.map { String(decoding: $0, as: UTF8.self) }
            s.partial = [Data(), Data()]
            s.remember(rest, keep: keep)
            return (rest, s.last)
        }
        for l in rest { emit(l) }
        return out
    }
}

extension Provisioner {
    /// Runs the record's provision scripts as root, in order, stopping at the first that fails,
    /// and records each one's run. With `all` false they run only if none has run yet (a create
    /// that stopped before them), from the store's copies; `provision --rerun-scripts` passes true:
    /// each script is read again from its path (so a fixed script is what runs, and becomes the
    /// store's copy), or, when it is gone, run from the store's copy.
    func runScripts(_ run: StepRunner, config: MachineConfig, ssh: any RemoteHost, all: Bool) async throws -> MachineConfig {
        guard let scripts = config.provisionScripts, !scripts.isEmpty else { return config }
        guard all || scripts.allSatisfy({ $0.lastRun == nil }) else { return config }
        var current = config
        for (i, script) in scripts.enumerated() {
            if all, let fresh = FileManager.default.contents(atPath: script.source) {
                try AtomicFile.write(fresh, to: store.resolve(script.file), mode: 0o600)
            }
            guard let contents = FileManager.default.contents(atPath: store.resolve(script.file)) else {
                throw ProvisionError(
                    machine: config.name, step: .runScripts,
                    reason: "the store's copy of provision script \(script.source) (\(script.file)) is missing", resumable: false)
            }
            let machine = config.name
            let progress = self.progress
            let output = ScriptOutput { line in progress.output(machine: machine, step: .runScripts, line: line) }
            let clock = ContinuousClock()
            let start = clock.now
            let result = try await run.timed(.runScripts) { () -> (ScriptRun, String) in
                var status: Int32?
                var failure: String?
                do {
                    let r = try await ssh.execAsRoot(
                        Scripts.runProvisionScript.command(), stdin: .data(contents), timeout: nil, collect: false,
                        onStdout: { output.feed($0, stream: 0) }, onStderr: { output.feed($0, stream: 1) })
                    status = r.exitStatus
                    if let sig = r.signal {
                        failure = "killed by signal \(sig)"
                    } else if status == nil {
                        failure = "no exit status: the connection closed before the script finished"
                    }
                } catch {
                    failure = "\(error)"
                }
                let done = ScriptRun(
                    exitStatus: status, error: failure, seconds: (clock.now - start).timeInterval,
                    finishedAt: Date(), lastLines: output.finish())
                return (done, "\(script.source): \(done.succeeded ? "done" : done.outcomeText)")
            }
            current = try store.update(config.name) { $0.provisionScripts?[i].lastRun = result }
            if !result.succeeded { break }
        }
        return current
    }
}
