import ArgumentParser
import Foundation
import SwockClient
import SwockStore

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a machine's record as JSON (no secrets: keys stay in files).",
        discussion: Help.discussion(examples: [
            "swock-machine inspect web1",
            "swock-machine inspect -f '{{.Address}} {{.Engine.Version}}' web1",
        ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: OptionalMachineName

    @Option(
        name: [.customShort("f"), .long],
        help: "Template, e.g. '{{.Address}} {{.Engine.Version}}', '{{json .Driver}}', '{{prettyjson .}}' (see `ls --help`).")
    var format: String?

    func run() async throws {
        try await reportingErrors {
            let (store, config) = try global.loadMachine(machine.name)
            if let format {
                let t = try Template(format)
                Output.out(try t.render(machineTemplateData(config: config, store: store)) + "\n")
            } else {
                Output.out(String(decoding: try Store.encode(config), as: UTF8.self))
            }
        }
    }
}
