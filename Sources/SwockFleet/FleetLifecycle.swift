import Foundation
import Logging
import SwockEngine
import SwockRuntime

/// stop/start/restart/kill/upgrade on many machines at once, through the fan-out: each machine's
/// outcome carries its one-line summary (`detail`) or its error.
public struct FleetLifecycle: Sendable {
    public let lifecycle: EngineLifecycle
    public var parallelism: Int

    public init(lifecycle: EngineLifecycle, parallelism: Int = 32) {
        self.lifecycle = lifecycle
        self.parallelism = parallelism
    }

    /// `finished` is called as each machine ends; outcomes are in the order of `names`.
    public func run(_ action: EngineLifecycle.Action, on names: [String],
                    finished: @escaping @Sendable (HostOutcome) -> Void = { _ in }) async -> [HostOutcome] {
        let lifecycle = self.lifecycle
        return await FanOut(parallelism: parallelism).run(names, job: { i in
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let summary = try await lifecycle.perform(action, on: names[i])
                return HostOutcome(name: names[i], result: .ok, duration: clock.now - start, detail: summary)
            } catch {
                return HostOutcome(name: names[i], result: .failed, duration: clock.now - start, error: "\(error)", failure: error)
            }
        }, finished: { _, outcome in finished(outcome) })
    }
}
