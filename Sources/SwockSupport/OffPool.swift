import Foundation

/// Runs blocking work on a thread of its own, never on Swift's cooperative pool (which has one
/// thread per core: a blocked one stalls every task).
public enum OffPool {
    public static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.name = name
            thread.start()
        }
    }
}
