import ArgumentParser
import SwockCore

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Kill dockerd hard (SIGKILL) on machines; it stays down until start.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Machine names (default: the active machine); they are handled at once.")
    var names: [String] = []

    func run() async throws {
        try await reportingErrors { try await LifecycleRunner.run(.kill, names: names, global: global) }
    }
}
