import Foundation
import Testing

/// Bounds how many fleet tests run at once. Each fleet test boots hosts and runs apt, dockerd
/// and sshd on this machine's 2 cores; run all at once, they starve each other into timeouts
/// that say nothing about the product. `SWOCK_TEST_FLEET_SLOTS` (default 4) sets the bound.
public struct FleetSlot: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        guard !test.isSuite, testCase != nil else { return try await function() }
        await FleetSlots.shared.acquire()
        let lease = FleetLease()
        let outcome: Result<Void, Error>
        do {
            try await FleetLease.$current.withValue(lease) { try await function() }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await FleetSlots.shared.release()
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
}

actor FleetSlots {
    static let shared = FleetSlots(Int(ProcessInfo.processInfo.environment["SWOCK_TEST_FLEET_SLOTS"] ?? "") ?? 4)

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ slots: Int) { free = max(slots, 1) }

    func acquire() async {
        if free > 0 { free -= 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
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
