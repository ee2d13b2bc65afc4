import ArgumentParser
import Foundation
import SwockClient
import SwockEngine
import SwockFleet
import SwockRemote
import SwockRuntime

/// Runs one engine lifecycle action on several machines at once (default: the active one),
/// one line per machine; exit status 2 if some failed, 1 if all did (`ErrorReport.fleetStatus`).
enum LifecycleRunner {
    static func run(
        _ action: EngineLifecycle.Action, names: [String], global: GlobalOptions, progress: ProgressMode = .auto,
        keeper: KeeperClient? = nil
    ) async throws {
        let store = global.store
        let resolver = MachineResolver(store: store)
        let targets = try names.isEmpty ? [resolver.resolveName(nil)] : names
        for n in targets { _ = try store.load(n) }  // unknown names fail before anything runs
        var configured = EngineLifecycle(store: store, logger: global.logger("swock.\(action.rawValue)"))
        configured.keeper = keeper
        let lifecycle = configured
        // The board for several machines; one machine keeps its line.
        let outcomes = try await FanOutDisplay.run(names: targets.count > 1 ? targets : [], mode: progress, step: action.rawValue) {
            await FleetLifecycle(lifecycle: lifecycle).run(action, on: targets) { o in
                if let detail = o.detail { Output.err("(\(o.name)) \(detail)") }
            }
        }
        guard let failure = FanOutFailure(outcomes) else { return }
        let lines = ErrorReport.lines(failure)
        if failure.total == 1 { throw UserFacingError(lines[0]) }
        for line in lines { Output.err("Error: \(line)") }
        throw ExitCode(ErrorReport.fleetStatus(outcomes))
    }
}
