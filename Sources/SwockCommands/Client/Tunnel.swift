import ArgumentParser
import Foundation
import SwockRemote

struct Tunnel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Forward the Engine API of a machine behind jump hosts to 127.0.0.1 over SSH.",
        discussion: Help.discussion(
            """
            A machine created with --generic-ssh-proxy-jump has a daemon this computer cannot reach. \
            This serves 127.0.0.1:PORT (chosen at create, shown by `url`) and carries each connection \
            through the jump hosts to the daemon; mutual TLS stays end to end. It runs in the \
            foreground until stopped; `create`, `env`, `config` and `use --docker-context` start it \
            in the background when it is not running, `rm` stops it, and it ends when the \
            machine's record goes.
            """,
            examples: [
                "swock-machine tunnel db1",
                "swock-machine tunnel --background db1",
                "swock-machine tunnel --stop db1",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Flag(help: "Start it in the background (if it is not running) and return.")
    var background = false

    @Flag(help: "Stop the background forward.")
    var stop = false

    @Argument(help: "Machine name.", completion: .machineNames)
    var name: String

    /// This program, for starting the forward in the background.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func run() async throws {
        try await reportingErrors {
            guard !(background && stop) else { throw UsageError("give --background or --stop, not both") }
            let (store, config) = try global.loadMachine(name)
            let service = TunnelService(store: store)
            if stop {
                guard let pid = service.runningPID(config.name) else {
                    Output.err("No forward of \(config.name) is running.")
                    return
                }
                service.stop(config.name)
                Output.err("Stopped the forward of \(config.name) (pid \(pid)).")
                return
            }
            if background {
                // The forward's own connections follow this command's --persist, not only $SWOCK_PERSIST.
                _ = try KeeperPersist.resolve(flag: keeper.persist)
                let pid = try await service.ensureRunning(
                    config, executable: Self.executable, arguments: keeper.persist.map { ["--persist", $0] } ?? [])
                Output.err("Engine API of \(config.name) forwarded to \(config.clientURL) (pid \(pid))")
                return
            }
            let logger = global.logger("swock.tunnel")
            try await service.serve(config, logger: logger, keeper: try keeper.client(store, global)) { tunnel, jumps in
                let hops = jumps.map { "\($0)" }.joined(separator: ", ")
                Output.err(
                    "Forwarding 127.0.0.1:\(tunnel.localPort) to \(config.address):\(config.engine.port) via \(hops); Ctrl-C stops it.")
            }
        }
    }
}
