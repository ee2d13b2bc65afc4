import Foundation
import SwockRuntime
import Testing

/// The one hook the live board uses: every fan-out in the task reports each host's start and end.
@Suite struct FanOutObserverTests {
    final class Recorder: FanOutObserver, @unchecked Sendable {
        let lock = NSLock()
        var events: [String] = []
        func started(_ name: String) { lock.lock(); events.append("start \(name)"); lock.unlock() }
        func finished(_ name: String, _ outcome: HostOutcome) {
            lock.lock(); events.append("end \(name) \(outcome.result.rawValue)"); lock.unlock()
        }
    }

    @Test func everyHostStartsAndEndsOnceSkippedOnesOnlyEnd() async {
        let r = Recorder()
        let names = ["a", "b", "c", "d"]
        let outcomes = await FanOut.$observer.withValue(r) {
            await FanOut(parallelism: 1, failFast: true).run(
                names,
                job: { i in
                    HostOutcome(name: names[i], result: i == 1 ? .failed : .ok)
                }, finished: { _, _ in })
        }
        #expect(outcomes.map(\.result) == [.ok, .failed, .skipped, .skipped])
        #expect(r.events == ["start a", "end a ok", "start b", "end b failed", "end c skipped", "end d skipped"])
    }

    @Test func withoutAnObserverNothingIsReported() async {
        let r = Recorder()
        _ = await FanOut(parallelism: 2).run(["a"], job: { _ in HostOutcome(name: "a", result: .ok) }, finished: { _, _ in })
        #expect(r.events.isEmpty)
    }
}
