import ArgumentParser
import Foundation
import SwockClient
import SwockFleet
import SwockProvision
import SwockRuntime
import SwockSupport
import SwockSwarm

/// `create -f FILE`: provisions every machine of a fleet file, at most `parallel` at once. Each
/// host's failure is isolated and recorded, so `provision NAME` resumes it; running the same
/// file again skips the machines that are ready and resumes the others.
struct FleetCreate {
    var global: GlobalOptions
    var path: String
    var parallel: Int
    var progress: ProgressMode = .auto

    func run() async throws {
        guard parallel >= 1 else { throw UsageError("--parallel must be at least 1") }
        let file = try FleetFile.load(path: path)
        let requests = try file.requests()
        let store = global.store
        let display = ProvisionDisplay(names: requests.map(\.name), mode: progress)
        let provisioner = Provisioner(store: store, progress: display.progress, logger: global.logger("swock.create"))
        let board = display.board
        let path = self.path
        board?.start { _ in "their records say where each stopped; run `swock-machine create -f \(path)` again to go on" }
        let outcomes = try await FleetProvisioning(provisioner: provisioner, parallelism: parallel).run(requests) { _, o in
            board?.finish(o.name, ok: o.result == .ok, detail: o.result == .ok ? (o.detail ?? "ready") : (o.error ?? "failed"))
        }
        board?.stop()
        for o in outcomes where o.result == .ok { ContextSync.write(o.name, store: store) }
        var table = [["NAME", "ADDRESS", "RESULT", "TIME", "ERROR"]]
        for (r, o) in zip(requests, outcomes) {
            table.append([o.name, r.address, o.detail ?? "failed", String(format: "%.1fs", o.duration?.timeInterval ?? 0), o.error ?? ""])
        }
        Output.out(TableLayout.render(table))
        let failed = outcomes.filter { $0.result != .ok }.map(\.name)
        Output.err("\(requests.count - failed.count) ready, \(failed.count) failed")
        // Swarm mode as the file asks, on the machines that are ready.
        let plan = SwarmPlan(fleet: file)
        var swarmFailed: [String] = []
        if !plan.isEmpty {
            let swarm = await SwarmControl(store: store).apply(plan, skip: Set(failed)) { o in
                if let d = o.detail { Output.err("(\(o.name)) \(d)") }
            }
            if let failure = FanOutFailure(swarm) {
                for line in ErrorReport.lines(failure) { Output.err("Error: \(line)") }
                swarmFailed = failure.failed.map(\.name)
            }
        }
        if !failed.isEmpty {
            Output.err("Resume the failed ones after fixing the cause: swock-machine provision \(failed.joined(separator: " "))")
        }
        // 2 when some machines are ready and some are not (or did not join), 1 when none is.
        let status = ErrorReport.fleetStatus(total: requests.count, failed: Set(failed).union(swarmFailed).count)
        if status != ErrorReport.Status.success { throw ExitCode(status) }
    }
}
