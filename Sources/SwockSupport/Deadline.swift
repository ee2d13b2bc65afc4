import Dispatch
import Foundation
import Synchronization

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
private final class FirstResult<T: Sendable>: Sendable {
    private struct State {
        var cont: CheckedContinuation<T, Error>?
        var done = false
        var cleanup: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func set(_ c: CheckedContinuation<T, Error>) {
        state.withLock { $0.cont = c }
    }

    func onDone(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { s in
            if s.done { return true }
            s.cleanup = body
            return false
        }
        if now { body() }
    }

    func resume(_ r: Result<T, Error>) {
        let taken = state.withLock { s -> (CheckedContinuation<T, Error>, (@Sendable () -> Void)?)? in
            guard !s.done, let c = s.cont else { return nil }
            s.done = true
            s.cont = nil
            defer { s.cleanup = nil }
            return (c, s.cleanup)
        }
        guard let (c, after) = taken else { return }
        c.resume(with: r)
        after?()
    }
}
