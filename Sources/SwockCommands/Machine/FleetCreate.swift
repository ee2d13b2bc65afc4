import ArgumentParser
import Foundation
import SwockCore

/// `create -f FILE`: provisions every machine of a fleet file, at most `parallel` at once. Each
/// host's failure is isolated and recorded, so `provision NAME` resumes it; running the same
/// file again skips the machines that are ready and resumes the others.
struct FleetCreate {
    var global: GlobalOptions
    var path: String
    var parallel: Int

    struct Outcome {
        var name: String
        var address: String
        var result: String
        var seconds: Double
        var error: String
        var failed: Bool
    }

    func run() async throws {
        guard parallel >= 1 else { throw UserFacingError("--parallel must be at least 1") }
        let requests = try FleetFile.load(path: path).requests()
        let store = global.store
        try store.ensureLayout()
        _ = try store.ensureCA()   // the one CA, made once before the hosts race for it
        let provisioner = Provisioner(store: store, progress: StderrProgress(), logger: global.logger("swock.create"))
        var outcomes: [String: Outcome] = [:]
        await withTaskGroup(of: Outcome.self) { group in
            var pending = requests[...]
            func start(_ r: CreateRequest) {
                group.addTask { await Self.createOne(r, provisioner: provisioner, store: store) }
            }
            for _ in 0..<min(parallel, pending.count) { start(pending.removeFirst()) }
            for await o in group {
                outcomes[o.name] = o
                if let next = pending.popFirst() { start(next) }
            }
        }
        for r in requests where outcomes[r.name]?.failed == false { ContextSync.write(r.name, store: store) }
        var table = [["NAME", "ADDRESS", "RESULT", "TIME", "ERROR"]]
        for r in requests {
            let o = outcomes[r.name]!
            table.append([o.name, o.address, o.result, String(format: "%.1fs", o.seconds), o.error])
        }
        Output.out(TableLayout.render(table))
        let failed = requests.filter { outcomes[$0.name]!.failed }.map(\.name)
        Output.err("\(requests.count - failed.count) ready, \(failed.count) failed")
        if !failed.isEmpty {
            Output.err("Resume the failed ones after fixing the cause: swock-machine provision \(failed.joined(separator: " "))")
            throw ExitCode(1)
        }
    }

    static func createOne(_ r: CreateRequest, provisioner: Provisioner, store: Store) async -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        func done(_ result: String, _ error: String = "", failed: Bool = false) -> Outcome {
            Outcome(name: r.name, address: r.address, result: result, seconds: (clock.now - start).timeInterval,
                    error: error, failed: failed)
        }
        do {
            if let existing = try? store.load(r.name) {
                if existing.provisioning.phase == .ready { return done("exists") }
                let c = try await provisioner.provision(r.name)
                return done("ready (resumed)", c.engine.version.map { "Docker \($0)" } ?? "")
            }
            _ = try await provisioner.create(r, keepRecordOnEarlyFailure: true)
            return done("ready")
        } catch let e as ProvisionError {
            return done("failed", "\(e.step): \(e.reason)", failed: true)
        } catch {
            return done("failed", "\(error)", failed: true)
        }
    }
}
