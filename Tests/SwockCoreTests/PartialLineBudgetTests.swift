import Foundation
import SwockRuntime
import Testing

/// The bound on unfinished lines a fleet command holds: who waits, who goes on over the limit
/// (the hosts holding the most), and that the others go on once lines ended.
struct PartialLineBudgetTests {
    /// Whether `body`, run on a thread of its own, has returned within `limit` (bounded waits,
    /// no time measured): false means it is still waiting.
    final class Runner: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        init(_ body: @escaping @Sendable () -> Void) {
            let d = done
            Thread {
                body(); d.signal()
            }.start()
        }
        func returned(within limit: Double) -> Bool { done.wait(timeout: .now() + limit) == .success }
    }

    @Test func overTheLimitOnlyTheLargestGoOn() {
        let budget = PartialLineBudget(hosts: 3, limit: 100, goingOn: 1)
        budget.update(host: 0, holding: 80)  // under the limit: goes on
        let second = Runner { budget.update(host: 1, holding: 50) }  // over it, and host 0 holds more
        #expect(!second.returned(within: 0.3), "host 1 went on over the limit behind a larger host")
        // A host that holds nothing (its output was whole lines) never waits.
        let whole = Runner { budget.update(host: 2, holding: 0) }
        #expect(whole.returned(within: 10))
        // The largest goes on over the limit.
        let largest = Runner { budget.update(host: 0, holding: 120) }
        #expect(largest.returned(within: 10))
        #expect(budget.totalHeld == 170)
        // Host 0's line ends: under the limit again, host 1 goes on.
        budget.update(host: 0, holding: 0)
        #expect(second.returned(within: 10))
        // Host 2 now holds more than host 1: over the limit, host 2 goes on and host 1 waits until
        // host 2 ends.
        let third = Runner { budget.update(host: 2, holding: 60) }
        #expect(third.returned(within: 10))
        let again = Runner { budget.update(host: 1, holding: 55) }
        #expect(!again.returned(within: 0.3))
        budget.release(host: 2)
        #expect(again.returned(within: 10))
        #expect(budget.totalHeld == 55)
    }

    @Test func severalGoOnAtOnce() {
        let budget = PartialLineBudget(hosts: 3, limit: 10, goingOn: 2)
        budget.update(host: 0, holding: 20)
        budget.update(host: 1, holding: 15)  // the second largest: goes on too
        let third = Runner { budget.update(host: 2, holding: 5) }
        #expect(!third.returned(within: 0.3))
        budget.release(host: 0)  // still over the limit, but host 2 is now second
        #expect(third.returned(within: 10))
    }

    @Test func underTheLimitNobodyWaits() {
        let budget = PartialLineBudget(hosts: 2, limit: 100)
        budget.update(host: 0, holding: 60)
        budget.update(host: 1, holding: 40)
        budget.update(host: 0, holding: 0)
        budget.update(host: 1, holding: 90)
        #expect(budget.totalHeld == 90)
        #expect(PartialLineBudget.defaultLimit == 8 << 20 && PartialLineBudget.defaultGoingOn == 8)
    }
}
