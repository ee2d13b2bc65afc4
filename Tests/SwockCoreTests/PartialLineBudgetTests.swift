import Foundation
import SwockRuntime
import Testing

/// The bound on unfinished lines a fleet command holds: who waits, who goes on, and that the
/// host allowed beyond the limit lets the others go once its line ended.
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

    @Test func aHostOverTheLimitWaitsUntilTheOneBeyondItEndsItsLine() {
        let budget = PartialLineBudget(hosts: 3, limit: 100)
        budget.update(host: 0, holding: 80)  // under the limit: goes on
        budget.update(host: 1, holding: 50)  // over it, and the first: allowed beyond it
        #expect(budget.totalHeld == 130)
        let grows = Runner { budget.update(host: 0, holding: 120) }
        #expect(!grows.returned(within: 0.3), "host 0 went on while host 1 was beyond the limit")
        // A host that holds nothing (its output was whole lines) never waits.
        let whole = Runner { budget.update(host: 2, holding: 0) }
        #expect(whole.returned(within: 10))
        // Host 1's line ends: host 0 is now the one beyond the limit and goes on.
        budget.update(host: 1, holding: 0)
        #expect(grows.returned(within: 10))
        #expect(budget.totalHeld == 120)
        // Host 1 holds some again: over the limit, host 0 beyond it, so it waits until host 0 ends.
        let again = Runner { budget.update(host: 1, holding: 10) }
        #expect(!again.returned(within: 0.3))
        budget.release(host: 0)
        #expect(again.returned(within: 10))
        #expect(budget.totalHeld == 10)
    }

    @Test func underTheLimitNobodyWaits() {
        let budget = PartialLineBudget(hosts: 2, limit: 100)
        budget.update(host: 0, holding: 60)
        budget.update(host: 1, holding: 40)
        budget.update(host: 0, holding: 0)
        budget.update(host: 1, holding: 90)
        #expect(budget.totalHeld == 90)
        #expect(PartialLineBudget.defaultLimit == 8 << 20)
    }
}
