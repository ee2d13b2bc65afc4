import Foundation
import SwockSupport
import Synchronization

/// A dedicated OS thread that runs one session's libssh calls in order.
///
/// libssh calls block, and a session must never be used from two threads at once. Swift's
/// cooperative pool has as many threads as cores (2 here), so blocking it would serialise a whole
/// fleet. Each session therefore owns one of these threads and async callers wait on a
/// continuation instead.
///
/// `@unchecked Sendable`: its job queue is guarded by an `NSCondition` (a lock with a condition
/// variable the thread sleeps on, which `Mutex` does not offer), not by the compiler.
final class SSHWorkerThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    /// Deadline timers: a serial queue of our own gets its own thread, so timers fire even
    /// when the cooperative pool is busy.
    static let deadlines = DispatchQueue(label: "swock.ssh.deadlines")

    init(name: String) {
        // The running thread keeps this object alive (strong capture) until its loop ends after
        // `stop()`: the session that owns us may go away while jobs are still queued.
        let t = Thread { self.loop() }
        t.name = name
        t.stackSize = 1 << 20
        t.start()
    }

    private func loop() {
        Self.blockSIGPIPE()
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// A write to a socket whose peer has gone (a jump host's channel, sshd dying) must fail with
    /// EPIPE, not kill the process: libssh does not pass MSG_NOSIGNAL everywhere. SIGPIPE is
    /// blocked on the threads that run libssh (it stays pending there, harmlessly).
    static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Queue `body` on the thread; runs after everything queued before it.
    func submit(_ body: @escaping () -> Void) {
        condition.lock()
        jobs.append(body)
        condition.signal()
        condition.unlock()
    }

    /// Run `body` on the thread and wait for it without blocking the caller's thread.
    func run<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            submit {
                do { cont.resume(returning: try body()) } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// Like `run`, but the caller gets `timeoutError` once `deadline` passes even if `body` is still
    /// blocked in libssh; `body` then finishes on its own and `onLateResult` disposes of its result.
    func run<T>(
        deadline: Duration,
        timeoutError: Error,
        onLateResult: @escaping (Result<T, Error>) -> Void,
        _ body: @escaping () throws -> T
    ) async throws -> T {
        let once = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            once.set(cont)
            submit {
                let r = Result { try body() }
                if !once.resume(with: r) { onLateResult(r) }
            }
            Self.deadlines.asyncAfter(deadline: .now() + deadline.timeInterval) {
                _ = once.resume(with: .failure(timeoutError))
            }
        }
    }

    /// Finish the queued jobs, then end the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }
}

/// Resumes a continuation exactly once, from whichever side gets there first.
final class ResumeOnce<T>: Sendable {
    private struct State {
        var cont: CheckedContinuation<T, Error>?
        var done = false
    }
    private let state = Mutex(State())

    func set(_ c: CheckedContinuation<T, Error>) {
        state.withLock { $0.cont = c }
    }

    /// Returns false when the continuation had already been resumed.
    func resume(with result: Result<T, Error>) -> Bool {
        let taken = state.withLock { s -> CheckedContinuation<T, Error>? in
            guard !s.done, let c = s.cont else { return nil }
            s.done = true
            s.cont = nil
            return c
        }
        guard let c = taken else { return false }
        // The result is handed from the session thread to exactly one waiter.
        nonisolated(unsafe) let handoff = result
        c.resume(with: handoff)
        return true
    }
}
