import ArgumentParser
import SwockCore

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the engine on machines and wait until it answers over mutual TLS.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Machine names (default: the active machine); they are handled at once.")
    var names: [String] = []

    func run() async throws {
        try await reportingErrors { try await LifecycleRunner.run(.start, names: names, global: global) }
    }
}
