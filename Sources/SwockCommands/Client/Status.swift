import ArgumentParser
import SwockClient

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a machine's live state: Running, Stopped, Timeout or Error.",
        discussion: Help.discussion(examples: [
            "swock-machine status web1",
            "swock-machine status -t 10 web1",
        ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions
    @OptionGroup var machine: OptionalMachineName

    @Option(name: [.customShort("t"), .long], help: "Seconds to wait for the machine.")
    var timeout: Double = 3

    func validate() throws {
        try SecondsOption.check(timeout, flag: "--timeout", allowZero: true)
    }

    func run() async throws {
        try await reportingErrors {
            try keeper.routeEngine(global)
            if global.debug { LogSetup.once(debug: true) }  // the Engine API's handshakes (full or resumed)
            let (store, config) = try global.loadMachine(machine.name)
            let status = await MachineStatus.probe(config, store: store, timeout: SecondsOption.duration(timeout))
            Output.out(status.state.rawValue + "\n")
        }
    }
}
