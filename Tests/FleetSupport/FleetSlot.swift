import Foundation
import Testing

/// Bounds how many fleet tests run at once. Each fleet test boots hosts and runs apt, dockerd
/// and sshd on this machine's 2 cores; run all at once, they starve each other into timeouts
/// that say nothing about the product. `SWOCK_TEST_FLEET_SLOTS` (default 3) sets the bound.
/// A test that boots many hosts at once takes more slots (`weight`, at most the bound: all of
/// them, it runs alone among the fleet tests).
public struct FleetSlot: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }
    public var weight = 1

    public func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        guard !test.isSuite, testCase != nil else { return try await function() }
        await FleetSlots.shared.acquire(weight)
        let lease = FleetLease()
        let outcome: Result<Void, Error>
        do {
            try await FleetLease.$current.withValue(lease) { try await function() }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await FleetSlots.shared.release(weight)
        // The hosts this test booted fresh go away with it: a whole run leaves 60-odd hosts
        // (systemd, sshd, dockerd each) otherwise, gigabytes a small CI machine does not have.
        let names = lease.names
        if !names.isEmpty { try? await Fleet.down(names) }
        try outcome.get()
    }
}

extension Trait where Self == FleetSlot {
    /// Run under the bound on concurrent fleet tests.
    public static var fleetSlot: FleetSlot { FleetSlot() }

    /// Run under the bound, taking `weight` slots (a test that boots many hosts at once).
    public static func fleetSlot(weight: Int) -> FleetSlot { FleetSlot(weight: weight) }
}

actor FleetSlots {
    static let shared = FleetSlots(Int(ProcessInfo.processInfo.environment["SWOCK_TEST_FLEET_SLOTS"] ?? "") ?? 3)

    private let total: Int
    private var free: Int
    /// First come, first served: a heavy test waiting at the head is not overtaken by light ones.
    private var waiting: [(weight: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(_ slots: Int) {
        total = max(slots, 1)
        free = total
    }

    func acquire(_ weight: Int) async {
        let n = min(max(weight, 1), total)
        if waiting.isEmpty && free >= n {
            free -= n
            return
        }
        await withCheckedContinuation { waiting.append((n, $0)) }
    }

    func release(_ weight: Int) {
        free += min(max(weight, 1), total)
        while let first = waiting.first, free >= first.weight {
            free -= first.weight
            waiting.removeFirst().continuation.resume()
        }
    }
}

/// The hosts a test booted with `Fleet.fresh`; FleetSlot tears them down when the test ends.
/// Fixtures shared by several tests boot theirs with `Fleet.freshShared`, outside any lease.
public final class FleetLease: @unchecked Sendable {
    @TaskLocal public static var current: FleetLease?

    private let lock = NSLock()
    private var taken: [String] = []

    public init() {}

    func add(_ names: [String]) {
        lock.lock(); defer { lock.unlock() }
        for n in names where !taken.contains(n) { taken.append(n) }
    }

    public var names: [String] {
        lock.lock(); defer { lock.unlock() }
        return taken
    }
}
