import Foundation
import Testing

/// Bounds how many fleet tests run at once. Each fleet test boots hosts and runs apt, dockerd
/// and sshd on this machine's 2 cores; run all at once, they starve each other into timeouts
/// that say nothing about the product. `SWOCK_TEST_FLEET_SLOTS` (default 4) sets the bound.
public struct FleetSlot: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        guard !test.isSuite, testCase != nil else { return try await function() }
        await FleetSlots.shared.acquire()
        do {
            try await function()
        } catch {
            await FleetSlots.shared.release()
            throw error
        }
        await FleetSlots.shared.release()
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
