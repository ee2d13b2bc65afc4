import Dispatch
import Foundation

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
private final class FirstResult<T: Sendable>: @unchecked Sendable {
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
