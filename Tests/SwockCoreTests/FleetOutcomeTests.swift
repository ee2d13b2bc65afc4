import Foundation
import Testing

@testable import SwockRuntime

@Suite struct FleetOutcomeTests {
    static let keys: Set<String> = ["name", "result", "exit", "signal", "stdout", "stderr", "duration_ms", "error"]

    func object(_ o: HostOutcome) throws -> [String: Any] {
        let line = o.jsonLine(errorText: o.error)
        #expect(!line.contains("\n"))
        return try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    }

    @Test func jsonHasEveryKeyWithNulls() throws {
        let ok = HostOutcome.finished(
            name: "web1", exitStatus: 0, signal: nil, stdout: Data("hi\n".utf8), stderr: Data(),
            duration: .milliseconds(1234))
        let a = try object(ok)
        #expect(Set(a.keys) == Self.keys)
        #expect(a["name"] as? String == "web1")
        #expect(a["result"] as? String == "ok")
        #expect(a["exit"] as? Int == 0)
        #expect(a["signal"] is NSNull)
        #expect(a["stdout"] as? String == "hi\n")
        #expect(a["stderr"] as? String == "")
        #expect(a["duration_ms"] as? Int == 1234)
        #expect(a["error"] is NSNull)

        let down = HostOutcome(name: "web2", result: .unreachable, duration: .seconds(3), error: "ssh: cannot connect \"x\"/y")
        let b = try object(down)
        #expect(Set(b.keys) == Self.keys)
        for k in ["exit", "signal", "stdout", "stderr"] { #expect(b[k] is NSNull, "\(k)") }
        #expect(b["error"] as? String == "ssh: cannot connect \"x\"/y")
        #expect(b["result"] as? String == "unreachable")

        let killed = HostOutcome.finished(name: "w", exitStatus: nil, signal: "KILL", stdout: nil, stderr: nil, duration: .zero)
        let c = try object(killed)
        #expect(c["signal"] as? String == "KILL")
        #expect(c["exit"] is NSNull)
        #expect(c["result"] as? String == "failed")
        #expect(Set(try object(.skipped("s")).keys) == Self.keys)
        #expect(try object(.skipped("s"))["duration_ms"] is NSNull)
    }

    @Test func jsonEscapesEverythingAndRepairsBadUTF8() throws {
        var bytes = Data("q\"b\\s/\t\r\n é ✓ \u{1}\u{7f}".utf8)
        bytes.append(contentsOf: [0xff, 0x00, 0x41])
        let o = HostOutcome.finished(name: "a\"b", exitStatus: 0, signal: nil, stdout: bytes, stderr: Data(), duration: .zero)
        let line = o.jsonLine(errorText: nil)
        #expect(line.hasPrefix("{\"name\":\"a\\\"b\",\"result\":\"ok\",\"exit\":0,"), "\(line)")
        let obj = try object(o)
        #expect(obj["stdout"] as? String == "q\"b\\s/\t\r\n é ✓ \u{1}\u{7f}\u{FFFD}\u{0}A")
        #expect(obj["name"] as? String == "a\"b")
        let big = HostOutcome.finished(name: "z", exitStatus: 0, signal: nil, stdout: Data(count: 300_000), stderr: nil, duration: .zero)
        let clock = ContinuousClock()
        let start = clock.now
        #expect((try object(big))["stdout"].map { ($0 as? String)?.utf8.count } == 300_000)
        #expect(clock.now - start < .seconds(5))
    }

    @Test func classification() {
        #expect(HostOutcome.finished(name: "a", exitStatus: 0, signal: nil, stdout: nil, stderr: nil, duration: .zero).result == .ok)
        #expect(HostOutcome.finished(name: "a", exitStatus: 3, signal: nil, stdout: nil, stderr: nil, duration: .zero).result == .failed)
        let lost = HostOutcome.finished(name: "a", exitStatus: nil, signal: nil, stdout: nil, stderr: nil, duration: .zero)
        #expect(lost.result == .failed)
        #expect(lost.error != nil)
    }

    /// The fleet run's own reasons are values (the command line words them, naming its flags).
    @Test func theRunsOwnFailuresAreTypedAndNameNoFlag() {
        let lost = HostOutcome.finished(name: "a", exitStatus: nil, signal: nil, stdout: nil, stderr: nil, duration: .zero)
        #expect(lost.failure as? HostFailure == .noExitStatus)
        #expect(HostOutcome.finished(name: "a", exitStatus: 1, signal: nil, stdout: nil, stderr: nil, duration: .zero).failure == nil)
        let skipped = HostOutcome.skipped("a")
        #expect(skipped.result == .skipped && skipped.failure as? HostFailure == .notStarted)
        let late = HostOutcome.timedOut("a", timeout: .milliseconds(1500), duration: .seconds(2))
        #expect(late.result == .failed && late.failure as? HostFailure == .timedOut(after: .milliseconds(1500)))
        #expect(late.duration == .seconds(2))
        #expect(HostFailure.timedOut(after: .seconds(10)).description == "timed out after 10 s")
        #expect(late.error == "timed out after 1.5 s")
        #expect(skipped.error == "not started: the run stopped after a failure")
        #expect(
            [HostFailure.timedOut(after: .seconds(1)), .notStarted, .noExitStatus].map(\.code) == [
                "fleet.timed-out", "fleet.not-started", "fleet.no-exit-status",
            ])
        for f in [HostFailure.timedOut(after: .seconds(1)), .notStarted, .noExitStatus] { #expect(!f.description.contains("--")) }
    }

    @Test func summaryLine() {
        var outcomes = (0..<12).map { HostOutcome(name: "ok\($0)", result: .ok, exitStatus: 0) }
        outcomes.append(HostOutcome(name: "f", result: .failed, exitStatus: 1))
        outcomes += [HostOutcome(name: "u1", result: .unreachable), HostOutcome(name: "u2", result: .unreachable)]
        #expect(FleetSummary.line(outcomes) == "12 ok, 1 failed, 2 unreachable")
        #expect(!FleetSummary.allOK(outcomes))
        #expect(FleetSummary.line(outcomes + [.skipped("s")]) == "12 ok, 1 failed, 2 unreachable, 1 skipped")
        #expect(FleetSummary.allOK(Array(outcomes.prefix(12))))
        #expect(FleetSummary.line([]) == "0 ok, 0 failed, 0 unreachable")
        #expect(!FleetSummary.allOK([]))
    }
}
