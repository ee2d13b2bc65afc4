import Foundation
import SSHKit

/// Runs one job per host with at most `parallelism` in flight. With `failFast`, no new host is
/// started once one has not succeeded; hosts never started come back as `skipped`. The jobs
/// themselves only await (their blocking work runs on threads of their own), so the pool is free.
public struct FleetScheduler: Sendable {
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
        var results = [HostOutcome?](repeating: nil, count: names.count)
        await withTaskGroup(of: (Int, HostOutcome).self) { group in
            var next = 0
            var stop = false
            func startNext() {
                guard next < names.count, !stop else { return }
                let i = next
                next += 1
                group.addTask { (i, await job(i)) }
            }
            for _ in 0..<min(parallelism, names.count) { startNext() }
            for await (i, outcome) in group {
                results[i] = outcome
                finished(i, outcome)
                if failFast && outcome.result != .ok { stop = true }
                startNext()
            }
        }
        return results.enumerated().map { i, r in
            if let r { return r }
            let s = HostOutcome.skipped(names[i])
            finished(i, s)
            return s
        }
    }
}

/// An async counting semaphore: waiters queue in order and suspend (no thread is blocked).
public final class AsyncGate: @unchecked Sendable {
    private let lock = NSLock()
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(_ permits: Int) {
        available = max(1, permits)
    }

    public func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if available > 0 {
                available -= 1
                lock.unlock()
                c.resume()
            } else {
                waiters.append(c)
                lock.unlock()
            }
        }
    }

    public func release() {
        lock.lock()
        if waiters.isEmpty {
            available += 1
            lock.unlock()
        } else {
            let c = waiters.removeFirst()
            lock.unlock()
            c.resume()
        }
    }
}

/// Races an async operation against a deadline: the caller gets `timeoutError` once `limit`
/// passes even when the operation is stuck (it then finishes on its own, its result dropped).
private let deadlineQueue = DispatchQueue(label: "swock.deadlines")

public func withDeadline<T: Sendable>(
    _ limit: Duration, timeoutError: Error, _ op: @escaping @Sendable () async throws -> T
) async throws -> T {
    let once = FirstResult<T>()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
        once.set(cont)
        let work = Task {
            do { once.resume(.success(try await op())) } catch { once.resume(.failure(error)) }
        }
        // The timer runs on a queue of its own, not on the cooperative pool: blocked pool
        // threads must not be able to delay a deadline.
        deadlineQueue.asyncAfter(deadline: .now() + limit.timeInterval) {
            once.resume(.failure(timeoutError))
        }
        once.onDone { _ = work }
    }
}

/// Resumes a continuation once, with whichever result comes first.
final class FirstResult<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<T, Error>?
    private var done = false
    private var cleanup: (@Sendable () -> Void)?

    func set(_ c: CheckedContinuation<T, Error>) {
        lock.lock(); cont = c; lock.unlock()
    }

    func onDone(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        if done { lock.unlock(); body(); return }
        cleanup = body
        lock.unlock()
    }

    func resume(_ r: Result<T, Error>) {
        lock.lock()
        guard !done, let c = cont else { lock.unlock(); return }
        done = true
        cont = nil
        let after = cleanup
        cleanup = nil
        lock.unlock()
        c.resume(with: r)
        after?()
    }
}
