import Foundation
import SSHKit
import SwockRemote
import SwockStore
import SwockSupport

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

/// Splits a script's output into lines and keeps the last ones (thread-safe: output arrives on
/// the session's thread).
final class ScriptOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var partial: [Data] = [Data(), Data()]
    private var last: [String] = []
    private let keep: Int
    private let emit: @Sendable (String) -> Void

    init(keep: Int = 10, emit: @escaping @Sendable (String) -> Void) {
        self.keep = keep
        self.emit = emit
    }

    func feed(_ data: Data, stream: Int) {
        var lines: [String] = []
        lock.lock()
        partial[stream].append(data)
        while let nl = partial[stream].firstIndex(of: UInt8(ascii: "\n")) {
            let line = partial[stream][partial[stream].startIndex..<nl]
            lines.append(String(decoding: line, as: UTF8.self))
            partial[stream] = Data(partial[stream][(nl + 1)...])
        }
        remember(lines)
        lock.unlock()
        for l in lines { emit(l) }
    }

    /// Flushes unterminated lines; returns the last lines kept.
    func finish() -> [String] {
        lock.lock()
        let rest = partial.filter { !$0.isEmpty }.map { String(decoding: $0, as: UTF8.self) }
        partial = [Data(), Data()]
        remember(rest)
        let out = last
        lock.unlock()
        for l in rest { emit(l) }
        return out
    }

    private func remember(_ lines: [String]) {
        last.append(contentsOf: lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 })
        if last.count > keep { last.removeFirst(last.count - keep) }
    }
}

extension Provisioner {
    /// The shell line that runs a script given on stdin as root: written to a private temporary
    /// file (so its `#!` line is honoured and its own stdin is not the script), run, removed.
    /// The script's contents never appear on a command line.
    static let scriptRunner =
        #"f=$(mktemp /tmp/swock-provision-script.XXXXXX) || exit 125; trap 'rm -f "$f"' EXIT; cat > "$f" && chmod 700 "$f" && "$f" </dev/null"#

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
                        Self.scriptRunner, stdin: .data(contents), timeout: nil, collect: false,
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
