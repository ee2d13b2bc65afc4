import Foundation

/// Bounds the bytes of unfinished lines a fleet command holds for all its hosts together.
///
/// A host's output is printed a whole line at a time (`NAME | line`), so the bytes of a line that
/// has not ended yet are held, up to `LineSplitter.maxPartial` (1 MiB) per stream. With many hosts
/// writing long lines at once that was up to a megabyte per host in flight. Here, while all hosts
/// together hold more than `limit`, a host that holds some unfinished line waits before it reads
/// more (its command's output waits in SSH's flow control meanwhile), except the `goingOn` hosts
/// that hold the most: they go on, so that lines keep getting finished (or cut at `maxPartial`)
/// by several hosts at once. A host that holds nothing never waits, and under the limit nobody
/// does (many hosts each holding a short unfinished line, a progress bar, never wait). Held at
/// most: `limit`, plus up to `maxPartial` for each host going on, plus a chunk per host.
///
/// `@unchecked Sendable`: its state is guarded by `condition` (an NSCondition: hosts wait on it).
public final class PartialLineBudget: @unchecked Sendable {
    public let limit: Int
    public let goingOn: Int
    private let condition = NSCondition()
    private var held: [Int]
    private var total = 0

    /// The defaults: 8 MiB for a whole fleet command, 8 hosts going on beyond it.
    public static let defaultLimit = 8 << 20
    public static let defaultGoingOn = 8

    public init(hosts: Int, limit: Int = PartialLineBudget.defaultLimit, goingOn: Int = PartialLineBudget.defaultGoingOn) {
        self.limit = limit
        self.goingOn = max(1, goingOn)
        held = Array(repeating: 0, count: hosts)
    }

    /// Records that `host` now holds `bytes` of unfinished lines, and returns once it may read
    /// more (see the type).
    public func update(host: Int, holding bytes: Int) {
        condition.lock()
        defer { condition.unlock() }
        record(host, bytes)
        while held[host] > 0 && total > limit && !amongTheLargest(host) {
            condition.wait()
        }
    }

    /// Whether fewer than `goingOn` hosts hold more than `host` (ties: the lower index first).
    private func amongTheLargest(_ host: Int) -> Bool {
        let mine = held[host]
        var ahead = 0
        for (i, h) in held.enumerated() where h > mine || (h == mine && i < host) {
            ahead += 1
            if ahead >= goingOn { return false }
        }
        return true
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
        // Less held: the waiting hosts look again (more held never lets one go on).
        if bytes < before { condition.broadcast() }
    }
}
