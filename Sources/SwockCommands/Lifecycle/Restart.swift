import ArgumentParser
import SwockCore

struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart the engine on machines (running containers survive: live-restore).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Machine names (default: the active machine); they are handled at once.")
    var names: [String] = []

    func run() async throws {
        try await reportingErrors { try await LifecycleRunner.run(.restart, names: names, global: global) }
    }
}
