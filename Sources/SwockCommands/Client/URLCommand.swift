import ArgumentParser
import SwockClient

/// Not `URL`: that would shadow Foundation.URL in the whole module.
struct URLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url", abstract: "Print a machine's Docker URL (tcp://ADDRESS:PORT).",
        discussion: Help.discussion(
            "Instant: read from the record. --check first asks the daemon and fails when it does not answer.",
            examples: [
                "swock-machine url web1",
                "swock-machine url --check",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: OptionalMachineName

    @Flag(help: "Fail unless the daemon answers over mutual TLS.")
    var check = false

    var request: URLCommandRequest { URLCommandRequest(global: global.values, name: machine.name, check: check) }

    func run() async throws {
        try await reportingErrors { try await request.run() }
    }
}

/// What `url` was asked, parsed (by ArgumentParser, or by `LeanCommandLine`).
struct URLCommandRequest: LeanRequest, Equatable {
    var global: GlobalValues
    var name: String?
    var check = false

    func run() async throws {
        let (store, config) = try global.loadMachine(name)
        if check {
            let status = await MachineStatus.probe(config, store: store, timeout: .seconds(3))
            guard status.state == .running else {
                throw UserFacingError(
                    "Host is not running (\(status.state.rawValue)); `swock-machine start \(config.name)` starts it, `swock-machine status \(config.name)` says why"
                )
            }
        }
        Output.out(config.clientURL + "\n")
    }
}
