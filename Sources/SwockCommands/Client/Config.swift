import ArgumentParser
import SwockRemote

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the docker CLI flags that reach a machine: docker $(swock-machine config NAME) ps",
        discussion: Help.discussion(
            "One flag a line. If the store path has spaces, split on newlines: IFS=$'\\n'; docker $(swock-machine config NAME) ps",
            examples: [
                "docker $(swock-machine config web1) ps",
                "swock-machine config",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: OptionalMachineName

    var request: ConfigRequest { ConfigRequest(global: global.values, name: machine.name) }

    func run() async throws {
        try await reportingErrors { try await request.run() }
    }
}

/// What `config` was asked, parsed (by ArgumentParser, or by `LeanCommandLine`).
struct ConfigRequest: LeanRequest, Equatable {
    var global: GlobalValues
    var name: String?

    func run() async throws {
        let (store, config) = try global.loadMachine(name)
        if config.isBehindJumpHosts {
            // `docker $(swock-machine config NAME)` needs the forward running, as after env.
            _ = try await TunnelService(store: store).ensureRunning(config, executable: Tunnel.executable)
        }
        try store.refreshDockerCertPath(config)
        let dir = store.dockerCertPath(config)
        // Unquoted: `docker $(...)` splits words but does not remove quotes.
        Output.out(
            """
            --tlsverify
            --tlscacert=\(dir)/ca.pem
            --tlscert=\(dir)/cert.pem
            --tlskey=\(dir)/key.pem
            -H=\(config.clientURL)

            """)
    }
}
