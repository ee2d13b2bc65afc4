import ArgumentParser
import SwockCore

/// An optional machine name; without one, the active machine, then "default".
struct OptionalMachineName: ParsableArguments {
    @Argument(help: "Machine name (default: the active machine, else \"default\").")
    var name: String?

    func resolve(_ store: Store) throws -> MachineConfig {
        try MachineResolver(store: store).resolve(name)
    }
}
