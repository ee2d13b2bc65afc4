import ArgumentParser
import SwockCore

struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upgrade the engine the way it was installed, restart it, and record the new version.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Machine names (default: the active machine); they are handled at once.")
    var names: [String] = []

    func run() async throws {
        try await reportingErrors { try await LifecycleRunner.run(.upgrade, names: names, global: global) }
    }
}
