import Foundation

/// The one fan-out engine: `exec`, `docker`, `create -f` and the lifecycle verbs each run their
/// per-host job through it. One job per host with at most `parallelism` in flight. With `failFast`, no new host is
/// started once one has not succeeded; hosts never started come back as `skipped`. The jobs
/// themselves only await (their blocking work runs on threads of their own), so the pool is free.
public struct FanOut: Sendable {
    public var parallelism: Int
    public var failFast: Bool

    public init(parallelism: Int, failFast: Bool = false) {
        self.parallelism = max(1, parallelism)
        self.failFast = failFast
    }

    /// `job(i)` for every index of `names`; `finished` is called as each host ends (also for
    /// skipped ones, at the end). Results are in the order of `names`.
    public func run(
        _ names: [String],
        job: @escaping @Sendable (Int) async -> HostOutcome,
        finished: @escaping @Sendable (Int, HostOutcome) -> Void
    ) async -> [HostOutcome] {
        let observer = FanOut.observer
        var results = [HostOutcome?](repeating: nil, count: names.count)
        await withTaskGroup(of: (Int, HostOutcome).self) { group in
            var next = 0
            var stop = false
            func startNext() {
                guard next < names.count, !stop else { return }
                let i = next
                next += 1
                observer?.started(names[i])
                group.addTask { (i, await job(i)) }
            }
            for _ in 0..<min(parallelism, names.count) { startNext() }
            for await (i, outcome) in group {
                results[i] = outcome
                observer?.finished(names[i], outcome)
                finished(i, outcome)
                if failFast && outcome.result != .ok { stop = true }
                startNext()
            }
        }
        return results.enumerated().map { i, r in
            if let r { return r }
            let s = HostOutcome.skipped(names[i])
            observer?.finished(names[i], s)
            finished(i, s)
            return s
        }
    }
}

/// Watches the fan-outs run in a task and its children (the live progress board): each host as
/// it starts and ends. Set with `FanOut.$observer.withValue(...)`; every fan-out reports here,
/// so the verbs built on it need no hook of their own.
public protocol FanOutObserver: Sendable {
    func started(_ name: String)
    func finished(_ name: String, _ outcome: HostOutcome)
}

extension FanOut {
    @TaskLocal public static var observer: (any FanOutObserver)?
}

/// The aggregate error of a fan-out: the machines that did not succeed, in the order they were
/// given, with their outcomes as values.
public struct FanOutFailure: Error, CustomStringConvertible, Sendable {
    public let failed: [HostOutcome]
    public let total: Int

    /// nil when every outcome is ok.
    public init?(_ outcomes: [HostOutcome]) {
        failed = outcomes.filter { $0.result != .ok }
        total = outcomes.count
        if failed.isEmpty { return nil }
    }

    /// "NAME: what went wrong" per machine, in this layer's words (the command line words its
    /// own lines from the outcomes: ErrorReport.lines).
    public var description: String {
        failed.map { o in "\(o.name): \(o.error ?? o.exitStatus.map { "exit status \($0)" } ?? o.result.rawValue)" }
            .joined(separator: "\n")
    }
}
