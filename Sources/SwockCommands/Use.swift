import ArgumentParser
import SwockCore

struct Use: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a machine the active one for commands that name none (kept in the store).")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Clear the active machine.")
    var unset = false

    @Argument(help: "Machine name.")
    var name: String?

    func run() async throws {
        try await reportingErrors {
            let store = global.store
            if unset {
                try store.setActiveMachine(nil)
                Output.err("No active machine.")
                return
            }
            guard let name else { throw UserFacingError("name the machine to use, or pass --unset") }
            _ = try store.load(name)
            try store.setActiveMachine(name)
            Output.err("Active machine: \(name)")
        }
    }
}
