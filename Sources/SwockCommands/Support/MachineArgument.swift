import ArgumentParser
import SwockClient
import SwockStore

/// An optional machine name; without one, the active machine, then "default".
struct OptionalMachineName: ParsableArguments {
    @Argument(help: "Machine name (default: the active machine, else \"default\").", completion: .machineNames)
    var name: String?
}

extension GlobalValues {
    /// The prologue of the commands that act on one machine: the store, and the record of `name`
    /// (nil: the active machine, else "default").
    func loadMachine(_ name: String?) throws -> (store: Store, config: MachineConfig) {
        let store = self.store
        return (store, try MachineResolver(store: store).resolve(name))
    }
}

extension GlobalOptions {
    func loadMachine(_ name: String?) throws -> (store: Store, config: MachineConfig) {
        try values.loadMachine(name)
    }
}
