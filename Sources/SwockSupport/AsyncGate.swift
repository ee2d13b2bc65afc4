import Foundation

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

/// One `AsyncGate` of `permits` per key (made on first use): a bound per server rather than
/// one for everything.
public final class AsyncGates: @unchecked Sendable {
    private let lock = NSLock()
    private var gates: [String: AsyncGate] = [:]
    public let permits: Int

    public init(_ permits: Int) { self.permits = permits }

    public func gate(_ key: String) -> AsyncGate {
        lock.lock()
        defer { lock.unlock() }
        if let g = gates[key] { return g }
        let g = AsyncGate(permits)
        gates[key] = g
        return g
    }
}
