import Foundation
import Synchronization

/// An async counting semaphore: waiters queue in order and suspend (no thread is blocked).
public final class AsyncGate: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    public init(_ permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    public func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                if s.available > 0 {
                    s.available -= 1
                    return true
                }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    public func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// One `AsyncGate` of `permits` per key (made on first use): a bound per server rather than
/// one for everything.
public final class AsyncGates: Sendable {
    private let gates = Mutex<[String: AsyncGate]>([:])
    public let permits: Int

    public init(_ permits: Int) { self.permits = permits }

    public func gate(_ key: String) -> AsyncGate {
        gates.withLock { gates in
            if let g = gates[key] { return g }
            let g = AsyncGate(permits)
            gates[key] = g
            return g
        }
    }
}
