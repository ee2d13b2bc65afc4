import ArgumentParser
import SwockClient

struct IP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ip", abstract: "Print a machine's address.",
        discussion: Help.discussion(examples: [
            "swock-machine ip web1",
            "ssh root@$(swock-machine ip web1)",
            "swock-machine ip web1 web2",
        ]))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Machine names (default: the active machine).", completion: .machineNames)
    var names: [String] = []

    var request: IPRequest { IPRequest(global: global.values, names: names) }

    func run() async throws {
        try await reportingErrors { try await request.run() }
    }
}

/// What `ip` was asked, parsed (by ArgumentParser, or by `LeanCommandLine`).
struct IPRequest: LeanRequest, Equatable {
    var global: GlobalValues
    var names: [String] = []

    func run() async throws {
        let resolver = MachineResolver(store: global.store)
        for n in names.isEmpty ? [nil] : names.map(Optional.some) {
            Output.out(try resolver.resolve(n).address + "\n")
        }
    }
}
