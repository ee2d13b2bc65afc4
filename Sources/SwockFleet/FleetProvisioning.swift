import Foundation
import SwockDrivers
import SwockProvision
import SwockRuntime
import SwockStore

/// `create -f FILE`: every machine of a fleet file provisioned through the fan-out. Each host's
/// failure is isolated and recorded, so `provision NAME` resumes it; the same file run again
/// skips the machines that are ready and resumes the others.
public struct FleetProvisioning: Sendable {
    public let provisioner: Provisioner
    public var parallelism: Int
    /// Where `driver:` names are found.
    public var drivers: DriverRegistry = .standard

    public init(provisioner: Provisioner, parallelism: Int) {
        self.provisioner = provisioner
        self.parallelism = parallelism
    }

    /// One outcome per request, in order: `detail` is "ready", "exists" or "ready (resumed)";
    /// a failure's `error` is "STEP: reason".
    public func run(
        _ requests: [CreateRequest],
        finished: @escaping @Sendable (Int, HostOutcome) -> Void = { _, _ in }
    ) async throws -> [HostOutcome] {
        let store = provisioner.store
        try store.ensureLayout()
        _ = try store.ensureCA()  // the one CA, made once before the hosts race for it
        let provisioner = self.provisioner
        let drivers = self.drivers
        return await FanOut(parallelism: parallelism).run(
            requests.map(\.name),
            job: { i in
                await Self.createOne(requests[i], provisioner: provisioner, drivers: drivers)
            }, finished: finished)
    }

    static func createOne(_ r: CreateRequest, provisioner: Provisioner, drivers: DriverRegistry = .standard) async -> HostOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        func done(_ detail: String?, error: String? = nil) -> HostOutcome {
            HostOutcome(name: r.name, result: error == nil ? .ok : .failed, duration: clock.now - start, error: error, detail: detail)
        }
        do {
            if let existing = try? provisioner.store.load(r.name) {
                if existing.provisioning.phase == .ready { return done("exists") }
                let c = try await provisioner.provision(r.name)
                if let failed = ProvisionScriptFailed(c) { return done(nil, error: "\(ProvisionStep.runScripts.rawValue): \(failed)") }
                return done("ready (resumed)")
            }
            if r.driver != "generic" {
                // A driver's host: made, provisioned, or nothing left (no record to resume).
                let kind = try drivers.kind(named: r.driver)
                let parsed = try DriverFlagParser.parse(r.driverFlagWords, flags: try await kind.createFlags(), driver: kind.name)
                let driver = try await kind.driverForCreate(machine: r.name, flags: parsed.values, store: provisioner.store)
                let c = try await DriverCreation(provisioner: provisioner).create(r, driver: driver)
                if let failed = ProvisionScriptFailed(c) { return done(nil, error: "\(ProvisionStep.runScripts.rawValue): \(failed)") }
                return done("ready")
            }
            let c = try await provisioner.create(r, keepRecordOnEarlyFailure: true)
            if let failed = ProvisionScriptFailed(c) { return done(nil, error: "\(ProvisionStep.runScripts.rawValue): \(failed)") }
            return done("ready")
        } catch let e as ProvisionError {
            return done(nil, error: "\(e.step.rawValue): \(e.reason)")
        } catch {
            return done(nil, error: "\(error)")
        }
    }
}
