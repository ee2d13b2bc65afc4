import Foundation
import SwockSupport

/// How one host of a fleet command ended.
public struct HostOutcome: Sendable, Equatable {
    public enum Result: String, Sendable {
        /// Exit status 0.
        case ok
        /// Ran, but non-zero exit, a signal, a timeout or a lost connection.
        case failed
        /// Could not connect or authenticate (or the record is unusable).
        case unreachable
        /// Never started: the run stopped starting hosts after one failed (fail-fast).
        case skipped
    }

    public var name: String
    public var result: Result
    public var exitStatus: Int32?
    /// Signal name without "SIG" ("KILL"), when the command was killed by one.
    public var signal: String?
    /// nil when the command never ran or its output was not kept.
    public var stdout: Data?
    public var stderr: Data?
    public var duration: Duration?
    /// The failure in this layer's words (no command or flag named): `failure`'s text when it
    /// is given. What the user reads is worded by SwockCommands from `failure`.
    public var error: String?
    /// What a successful job did, in words ("ready (resumed)", "engine stopped"); not in JSON.
    public var detail: String?
    /// The error the job failed with, kept as a value (a `HostFailure` when it is the fleet
    /// run's own: a timeout, fail-fast, a lost connection); not compared by ==.
    public var failure: (any Error)?

    public init(
        name: String, result: Result, exitStatus: Int32? = nil, signal: String? = nil, stdout: Data? = nil,
        stderr: Data? = nil, duration: Duration? = nil, error: String? = nil, detail: String? = nil,
        failure: (any Error)? = nil
    ) {
        self.name = name
        self.result = result
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration
        self.error = error ?? failure.map { "\($0)" }
        self.detail = detail
        self.failure = failure
    }

    public static func == (a: HostOutcome, b: HostOutcome) -> Bool {
        a.name == b.name && a.result == b.result && a.exitStatus == b.exitStatus && a.signal == b.signal && a.stdout == b.stdout
            && a.stderr == b.stderr && a.duration == b.duration && a.error == b.error && a.detail == b.detail
    }

    /// Ok when the exit status is 0 and no signal; failed otherwise.
    public static func finished(
        name: String, exitStatus: Int32?, signal: String?, stdout: Data?, stderr: Data?,
        duration: Duration
    ) -> HostOutcome {
        let ok = exitStatus == 0 && signal == nil
        let lost = exitStatus == nil && signal == nil
        return HostOutcome(
            name: name, result: ok ? .ok : .failed, exitStatus: exitStatus, signal: signal,
            stdout: stdout, stderr: stderr, duration: duration, failure: lost ? HostFailure.noExitStatus : nil)
    }

    public static func skipped(_ name: String) -> HostOutcome {
        HostOutcome(name: name, result: .skipped, failure: HostFailure.notStarted)
    }

    /// Failed: past the fleet command's deadline `timeout`, after `duration`.
    public static func timedOut(_ name: String, timeout: Duration, duration: Duration? = nil) -> HostOutcome {
        HostOutcome(name: name, result: .failed, duration: duration, failure: HostFailure.timedOut(after: timeout))
    }

    public var durationMs: Int? {
        duration.map { Int(($0.timeInterval * 1000).rounded()) }
    }

    /// The `--format json` object, one line: every key present, null when it does not apply.
    /// Keys in this order: name, result, exit, signal, stdout, stderr, duration_ms, error.
    /// `errorText` is the `error` value, worded by the caller (SwockCommands) from `failure`.
    /// Output that is not UTF-8 is repaired (U+FFFD). Encoded by hand: JSONSerialization takes
    /// seconds for megabytes of output.
    public func jsonLine(errorText: String?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128 + (stdout?.count ?? 0) + (stderr?.count ?? 0))
        func key(_ k: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            Self.appendJSON(k, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func string(_ s: String?) {
            if let s { Self.appendJSON(s, to: &out) } else { out += Array("null".utf8) }
        }
        func number(_ n: Int?) { out += Array((n.map(String.init) ?? "null").utf8) }
        out.append(UInt8(ascii: "{"))
        key("name", first: true); string(name)
        key("result"); string(result.rawValue)
        key("exit"); number(exitStatus.map(Int.init))
        key("signal"); string(signal)
        key("stdout"); string(stdout.map { String(decoding: $0, as: UTF8.self) })
        key("stderr"); string(stderr.map { String(decoding: $0, as: UTF8.self) })
        key("duration_ms"); number(durationMs)
        key("error"); string(errorText)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func appendJSON(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0x00..<0x20, 0x7f:
                out += [0x5c, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xf)]]
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

/// Why a host of a fleet command did not succeed, when the fleet run itself decided it (no
/// error of a lower layer says why). The command line words it, naming its flags (ErrorReport).
public enum HostFailure: CodedError, Equatable, Sendable {
    /// Past the fleet command's per-host deadline, which was `after`.
    case timedOut(after: Duration)
    /// Never started: the run stopped starting hosts after one failed (fail-fast).
    case notStarted
    /// The connection closed before the command's exit status came.
    case noExitStatus

    public var code: ErrorCode {
        switch self {
        case .timedOut: return "fleet.timed-out"
        case .notStarted: return "fleet.not-started"
        case .noExitStatus: return "fleet.no-exit-status"
        }
    }

    public var description: String {
        switch self {
        case .timedOut(let after): return "timed out after \(Self.seconds(after))"
        case .notStarted: return "not started: the run stopped after a failure"
        case .noExitStatus: return "no exit status: the connection closed before the command finished"
        }
    }

    /// "10 s", "1.5 s".
    public static func seconds(_ d: Duration) -> String {
        let s = d.timeInterval
        return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}

/// The summary line of a fleet command: `12 ok, 1 failed, 2 unreachable` (`, 3 skipped` when any).
public enum FleetSummary {
    public static func line(_ outcomes: [HostOutcome]) -> String {
        func count(_ r: HostOutcome.Result) -> Int { outcomes.filter { $0.result == r }.count }
        var s = "\(count(.ok)) ok, \(count(.failed)) failed, \(count(.unreachable)) unreachable"
        let skipped = count(.skipped)
        if skipped > 0 { s += ", \(skipped) skipped" }
        return s
    }

    /// True only when every host succeeded.
    public static func allOK(_ outcomes: [HostOutcome]) -> Bool {
        !outcomes.isEmpty && outcomes.allSatisfy { $0.result == .ok }
    }
}
