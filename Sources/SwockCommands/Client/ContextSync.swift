import SwockClient
import SwockStore

/// Keeps the docker CLI's context for a machine in step with the store. A context is a
/// convenience: failing to write one is a warning, never a failed create.
enum ContextSync {
    static func write(_ name: String, store: Store) {
        guard DockerContexts.isValidName(name), name != "default" else { return }
        do {
            let config = try store.load(name)
            try DockerContexts().write(machine: config, store: store)
        } catch {
            Output.err("Warning: docker context \"\(name)\" not written: \(ErrorReport.line(error))")
        }
    }

    static func remove(_ name: String) {
        let contexts = DockerContexts()
        guard contexts.exists(name: name) else { return }
        do {
            try contexts.clearCurrent(ifIs: name)
            if try !contexts.remove(name: name) {
                Output.err("Note: the docker context \"\(name)\" was not created by swock-machine and was left alone")
            }
        } catch {
            Output.err("Warning: docker context \"\(name)\" not removed: \(ErrorReport.line(error))")
        }
    }
}
