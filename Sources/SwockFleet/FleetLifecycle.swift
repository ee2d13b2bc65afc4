import Foundation
import Logging
import SwockDrivers
import SwockEngine
import SwockProvision
import SwockRemote
import SwockRuntime
import SwockStore

/// stop/start/restart/kill/upgrade on many machines at once, through the fan-out: each machine's
/// outcome carries its one-line summary (`detail`) or its error.
///
/// A machine whose driver owns its host (a VM) has stop/start/restart/kill power the host
/// through the driver, as in Docker Machine; start and restart then wait until the engine
/// answers over TLS. Otherwise (generic) they act on the engine over SSH (`EngineLifecycle`);
/// a machine without SSH (none) is refused.
public struct FleetLifecycle: Sendable {
    public let lifecycle: EngineLifecycle
    public var parallelism: Int
    public var drivers: DriverRegistry = .standard

    public init(lifecycle: EngineLifecycle, parallelism: Int = 32) {
        self.lifecycle = lifecycle
        self.parallelism = parallelism
    }

    /// `finished` is called as each machine ends; outcomes are in the order of `names`.
    public func run(
        _ action: EngineLifecycle.Action, on names: [String],
        finished: @escaping @Sendable (HostOutcome) -> Void = { _ in }
    ) async -> [HostOutcome] {
        let lifecycle = self.lifecycle
        let drivers = self.drivers
        return await FanOut(parallelism: parallelism).run(
            names,
            job: { i in
                let clock = ContinuousClock()
                let start = clock.now
                do {
                    let summary = try await Self.perform(action, on: names[i], lifecycle: lifecycle, drivers: drivers)
                    return HostOutcome(name: names[i], result: .ok, duration: clock.now - start, detail: summary)
                } catch {
                    return HostOutcome(name: names[i], result: .failed, duration: clock.now - start, error: "\(error)", failure: error)
                }
            }, finished: { _, outcome in finished(outcome) })
    }

    /// One machine: through its driver when the driver owns the host, else on the engine.
    public static func perform(
        _ action: EngineLifecycle.Action, on name: String, lifecycle: EngineLifecycle,
        drivers: DriverRegistry
    ) async throws -> String {
        let store = lifecycle.store
        let config = try store.load(name)
        guard config.hasSSH else { throw NoSSH(machine: name, driver: config.driver) }
        guard action != .upgrade, config.driver != "generic" else { return try await lifecycle.perform(action, on: name) }
        let driver = try drivers.resolve(config, store: store)
        guard driver.hostOwnership == .owned else { return try await lifecycle.perform(action, on: name) }
        switch action {
        case .stop:
            try await driver.stop()
            return "host stopped (\(driver.name))"
        case .kill:
            try await driver.kill()
            return "host killed (\(driver.name))"
        case .start, .restart:
            if action == .start { try await driver.start() } else { try await driver.restart() }
            let wait = ProvisionLimits(pace: driver.pace).scaled(lifecycle.engineWait)
            let v = try await EngineReadiness(store: store, within: wait).waitForTLS(config, ssh: nil)
            return "host \(action == .start ? "started" : "restarted") (\(driver.name)): Docker \(v.version)"
        case .upgrade:
            return try await lifecycle.perform(action, on: name)
        }
    }
}
