import Foundation
import SwockSupport
import Testing

@testable import SwockRuntime

/// Counts jobs in flight and remembers the peak.
private final class InFlight: @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0
    private(set) var peak = 0
    private(set) var started: [Int] = []
    func enter(_ i: Int) { lock.lock(); now += 1; peak = max(peak, now); started.append(i); lock.unlock() }
    func leave() { lock.lock(); now -= 1; lock.unlock() }
    var startedSnapshot: [Int] { lock.lock(); defer { lock.unlock() }; return started }
    var peakSnapshot: Int { lock.lock(); defer { lock.unlock() }; return peak }
}

@Suite struct FanOutTests {
    let names = (1...12).map { "h\($0)" }

    @Test(arguments: [1, 3, 32])
    func parallelismIsALimit(p: Int) async {
        let flight = InFlight()
        let finished = InFlight()
        let outcomes = await FanOut(parallelism: p).run(
            names,
            job: { i in
                flight.enter(i)
                try? await Task.sleep(for: .milliseconds(30))
                flight.leave()
                return HostOutcome(name: "h\(i + 1)", result: .ok, exitStatus: 0)
            }, finished: { i, _ in finished.enter(i) })
        #expect(outcomes.map(\.name) == names)
        #expect(flight.peakSnapshot == min(p, names.count))
        #expect(Set(finished.startedSnapshot) == Set(0..<names.count))
        if p == 1 { #expect(flight.startedSnapshot == Array(0..<names.count)) }
    }

    @Test func failFastStartsNothingNewAfterAFailure() async {
        let flight = InFlight()
        let outcomes = await FanOut(parallelism: 2, failFast: true).run(
            names,
            job: { i in
                flight.enter(i)
                try? await Task.sleep(for: .milliseconds(i == 0 ? 10 : 200))
                return HostOutcome(name: "h\(i + 1)", result: i == 0 ? .failed : .ok)
            }, finished: { _, _ in })
        #expect(flight.startedSnapshot.sorted() == [0, 1])
        #expect(outcomes[0].result == .failed)
        #expect(outcomes[1].result == .ok)
        #expect(outcomes[2...].allSatisfy { $0.result == .skipped })
        #expect(FleetSummary.line(outcomes) == "1 ok, 1 failed, 0 unreachable, 10 skipped")
    }

    @Test func gateAdmitsAtMostItsPermits() async {
        let gate = AsyncGate(2)
        let flight = InFlight()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    await gate.acquire()
                    flight.enter(i)
                    try? await Task.sleep(for: .milliseconds(20))
                    flight.leave()
                    gate.release()
                }
            }
        }
        #expect(flight.peakSnapshot == 2)
        #expect(flight.startedSnapshot.count == 8)
    }

    struct Late: Error, Equatable {}

    @Test func deadlineWinsOverAStuckOperation() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: Late()) {
            try await withDeadline(.milliseconds(100), timeoutError: Late()) {
                // Stuck in a blocking call (not cancellable), as a session in libssh can be.
                try await LocalProcess.run(["/bin/sleep", "60"], environment: [:], onStdout: { _ in }, onStderr: { _ in })
            }
        }
        // The deadline, not the 60 s operation, decides (bound generous for a loaded machine).
        #expect(clock.now - start < .seconds(30))
        let v = try await withDeadline(.seconds(5), timeoutError: Late()) { 42 }
        #expect(v == 42)
    }
}

@Suite struct FanOutFailureTests {
    @Test func noneWhenAllSucceeded() {
        #expect(FanOutFailure([HostOutcome(name: "a", result: .ok)]) == nil)
    }

    /// The failed outcomes, in order, kept as values (ErrorReport words their lines).
    @Test func theFailedOutcomesInOrder() throws {
        let f = try #require(
            FanOutFailure([
                HostOutcome(name: "a", result: .ok),
                HostOutcome(name: "b", result: .failed, exitStatus: 2),
                HostOutcome(name: "c", result: .unreachable, error: "connection refused"),
                HostOutcome(name: "d", result: .failed, error: "wait-engine: the daemon did not answer"),
            ]))
        #expect(f.total == 4)
        #expect(f.failed.map(\.name) == ["b", "c", "d"])
        #expect(f.description == "b: exit status 2\nc: connection refused\nd: wait-engine: the daemon did not answer")
    }
}
