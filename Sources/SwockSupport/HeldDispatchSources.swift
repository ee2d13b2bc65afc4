import Dispatch
import Synchronization

/// Dispatch sources (timers, signal sources) kept alive by an object that must be Sendable.
/// Dispatch's source types are not marked Sendable: they are handed over whole (`sending`, so the
/// compiler checks that nothing else goes on using them) and touched only behind a Mutex. Their
/// event handlers must be `@Sendable`, or capturing the owner would tie the sources to it.
public final class HeldDispatchSources: Sendable {
    private let sources: Mutex<[any DispatchSourceProtocol]>

    public init(_ sources: sending [any DispatchSourceProtocol]) {
        self.sources = Mutex(sources)
    }

    /// Cancels them: their handlers run no more.
    public func cancel() {
        sources.withLock { for s in $0 { s.cancel() } }
    }
}
