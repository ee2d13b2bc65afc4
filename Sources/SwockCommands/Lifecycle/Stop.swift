import ArgumentParser
import SwockCore

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the engine (service and socket) on machines; the host stays up.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Machine names (default: the active machine); they are handled at once.")
    var names: [String] = []

    func run() async throws {
        try await reportingErrors { try await LifecycleRunner.run(.stop, names: names, global: global) }
    }
}
