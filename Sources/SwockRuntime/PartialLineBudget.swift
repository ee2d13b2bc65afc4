import Foundation

/// Bounds the bytes of unfinished lines a fleet command holds for all its hosts together.
///
/// A host's output is printed a whole line at a time (`NAME | line`), so the bytes of a line that
/// has not ended yet are held, up to `LineSplitter.maxPartial` per stream. With many hosts writing
/// long lines at once that was up to a megabyte per host. Here a host that holds some unfinished
/// line while all hosts together hold more than `limit` waits before it reads more (its command's
/// output waits in SSH's flow control meanwhile), except one host at a time: the first to find
/// the limit exceeded goes on until its line ends (or is cut at `maxPartial`), so that some line
/// always gets finished. A host that holds nothing never waits. Held: at most `limit` plus one
/// line plus one chunk per host.
///
/// `@unchecked Sendable`: its state is guarded by `condition` (an NSCondition: hosts wait on it).
public final class PartialLineBudget: @unchecked Sendable {
    public let limit: Int
    private let condition = NSCondition()
    private var held: [Int]
    private var total = 0
    /// The host allowed beyond the limit until its unfinished line is gone.
    private var overdraft: Int?

    /// The default limit: 8 MiB for a whole fleet command.
    public static let defaultLimit = 8 << 20

    public init(hosts: Int, limit: Int = PartialLineBudget.defaultLimit) {
        self.limit = limit
        held = Array(repeating: 0, count: hosts)
    }

    /// Records that `host` now holds `bytes` of unfinished lines, and returns once it may read
    /// more (see the type).
    public func update(host: Int, holding bytes: Int) {
        condition.lock()
        defer { condition.unlock() }
        record(host, bytes)
        while held[host] > 0 && total > limit && overdraft != host {
            if overdraft == nil {
                overdraft = host
                break
            }
            condition.wait()
        }
    }

    /// `host` ended: it holds nothing any more. Never waits.
    public func release(host: Int) {
        condition.lock()
        defer { condition.unlock() }
        record(host, 0)
    }

    /// What all hosts hold together.
    public var totalHeld: Int {
        condition.lock()
        defer { condition.unlock() }
        return total
    }

    private func record(_ host: Int, _ bytes: Int) {
        let before = held[host]
        held[host] = bytes
        total += bytes - before
        if bytes == 0 && overdraft == host { overdraft = nil }
        if bytes < before { condition.broadcast() }
    }
}
