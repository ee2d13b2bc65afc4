import ArgumentParser
import EngineAPI
import SwockRemote

struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print a machine's Docker Engine version (asks the daemon); without a machine, swock-machine's own.",
        discussion: Help.discussion(examples: [
            "swock-machine version",
            "swock-machine version web1",
        ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Argument(help: "Machine name.", completion: .machineNames)
    var name: String?

    func run() async throws {
        try await reportingErrors {
            try keeper.routeEngine(global)
            if global.debug { LogSetup.once(debug: true) }  // the Engine API's handshakes (full or resumed)
            guard let name else {
                Output.out("swock-machine version \(SwockMachine.version)\n")
                return
            }
            let (store, config) = try global.loadMachine(name)
            do {
                let v = try await EngineClient(
                    endpoint: EngineRoute.endpoint(config, store: store, budget: .seconds(10)), timeout: .seconds(5)
                ).version()
                Output.out(v.version + "\n")
            } catch let e as EngineError {
                switch e {
                case .connectionRefused, .timedOut, .unreachable, .connectionClosed:
                    throw UserFacingError(
                        "Host is not running (its engine does not answer); `swock-machine start \(config.name)` starts it, `swock-machine status \(config.name)` says why"
                    )
                default:
                    throw e
                }
            }
        }
    }
}
