import Foundation
import SwockStore

/// Which machine a command means when the user names none: the active machine (`use NAME`),
/// else a machine named "default", else a clear error.
public struct MachineResolver: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func resolveName(_ name: String?) throws -> String {
        if let name { return name }
        if let active = store.activeMachine(), store.exists(active) { return active }
        if store.exists("default") { return "default" }
        throw StoreError.noActiveMachine
    }

    public func resolve(_ name: String?) throws -> MachineConfig {
        try store.load(resolveName(name))
    }

    /// The machine DOCKER_HOST points at, if it is one of ours.
    public func machineMatching(dockerHost: String) -> String? {
        for (name, result) in store.list() {
            if case .success(let c) = result, c.clientURL == dockerHost { return name }
        }
        return nil
    }
}
