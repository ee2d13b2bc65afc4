import Foundation
import SwockStore
import Synchronization

/// Runs the steps of one create/provision: reports each start and end with its duration
/// (`ProvisionProgress`), keeps the durations (`StepLog`), and records finished and failed
/// steps in the machine's config.json.
struct StepRunner: Sendable {
    let store: Store
    let progress: ProvisionProgress
    let log: StepLog

    init(store: Store, progress: ProvisionProgress, machine: String) {
        self.store = store
        self.progress = progress
        self.log = StepLog(machine: machine)
    }

    var machine: String { log.machine }

    /// Runs one step: reports start and end with its duration.
    @discardableResult
    func timed<T>(_ step: ProvisionStep, _ body: () async throws -> (T, String)) async throws -> T {
        let machine = log.machine
        progress.stepStarted(machine: machine, step: step)
        let clock = ContinuousClock()
        let start = clock.now
        let (value, detail) = try await body()
        let seconds = (clock.now - start).timeInterval
        log.finished(step, seconds: seconds)
        progress.stepFinished(machine: machine, step: step, detail: detail, seconds: seconds)
        return value
    }

    /// Records `step` as finished in the record, with `change` applied in the same write.
    func record(_ step: ProvisionStep, _ change: (inout MachineConfig) -> Void) throws {
        let seconds = log.seconds(of: step)
        try store.update(log.machine) {
            change(&$0)
            $0.provisioning.stepsDone.removeAll { $0.step == step }
            $0.provisioning.stepsDone.append(StepRecord(step: step, seconds: seconds, finishedAt: Date()))
        }
    }

    /// Marks the record failed at `step` ("STEP: REASON" in lastError).
    func recordFailure(_ step: ProvisionStep, _ error: Error) throws {
        try store.update(log.machine) {
            $0.provisioning.phase = .failed
            $0.provisioning.lastError = "\(step.rawValue): \((error as? ProvisionError)?.reason ?? "\(error)")"
            $0.provisioning.failedStep = step
        }
    }
}

/// The steps one create/provision run has finished, with their durations.
final class StepLog: Sendable {
    let machine: String
    private let done = Mutex<[StepRecord]>([])

    init(machine: String) { self.machine = machine }

    func finished(_ step: ProvisionStep, seconds: Double) {
        done.withLock { done in
            done.removeAll { $0.step == step }
            done.append(StepRecord(step: step, seconds: seconds, finishedAt: Date()))
        }
    }

    func seconds(of step: ProvisionStep) -> Double {
        done.withLock { $0.last { $0.step == step }?.seconds ?? 0 }
    }

    var records: [StepRecord] { done.withLock { $0 } }
}
