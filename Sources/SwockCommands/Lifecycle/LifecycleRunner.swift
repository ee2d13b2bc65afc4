import ArgumentParser
import Foundation
import SwockCore

/// Runs one engine lifecycle action on several machines at once (default: the active one),
/// one line per machine; exit status 1 if any failed.
enum LifecycleRunner {
    static func run(_ action: EngineLifecycle.Action, names: [String], global: GlobalOptions) async throws {
        let store = global.store
        let resolver = MachineResolver(store: store)
        let targets = try names.isEmpty ? [resolver.resolveName(nil)] : names
        for n in targets { _ = try store.load(n) }  // unknown names fail before anything runs
        let lifecycle = EngineLifecycle(store: store, logger: global.logger("swock.\(action.rawValue)"))
        let failures = await withTaskGroup(of: String?.self) { group in
            for n in targets {
                group.addTask {
                    do {
                        let summary = try await lifecycle.perform(action, on: n)
                        Output.err("(\(n)) \(summary)")
                        return nil
                    } catch {
                        return "\(n): \(error)"
                    }
                }
            }
            var out: [String] = []
            for await f in group { if let f { out.append(f) } }
            return out
        }
        if failures.count == 1 && targets.count == 1 { throw UserFacingError(failures[0]) }
        if !failures.isEmpty {
            for f in failures.sorted() { Output.err("Error: \(f)") }
            throw ExitCode(1)
        }
    }
}
