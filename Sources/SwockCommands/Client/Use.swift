import ArgumentParser
import Foundation
import SwockClient
import SwockRemote

struct Use: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "use",
        abstract: "Make a machine the active one for commands that name none (kept in the store).",
        discussion: Help.discussion(
            "--docker-context also makes it the docker CLI's current context, so plain `docker ps` reaches it; `use --unset` undoes both.",
            examples: [
                "swock-machine use web1",
                "swock-machine use --docker-context web1",
                "swock-machine use --unset",
            ]))

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Clear the active machine (and the docker CLI's current context if it is one of swock-machine's).")
    var unset = false

    @Flag(
        name: .customLong("docker-context"),
        help: "Also write the machine's docker context and make it the docker CLI's current context ($DOCKER_CONFIG or ~/.docker).")
    var dockerContext = false

    @Argument(help: "Machine name.", completion: .machineNames)
    var name: String?

    func run() async throws {
        try await reportingErrors {
            let store = global.store
            if unset {
                try store.setActiveMachine(nil)
                Output.err("No active machine.")
                let contexts = DockerContexts()
                if let cur = contexts.current(), contexts.isOurs(name: cur) {
                    try contexts.clearCurrent(ifIs: cur)
                    Output.err("Docker CLI context: default (was \"\(cur)\").")
                }
                return
            }
            guard let name else { throw UsageError("name the machine to use, or pass --unset") }
            let config = try store.load(name)
            if dockerContext {
                // Written (or refreshed) before it is selected; a user's own context of that name is refused.
                let contexts = DockerContexts()
                try contexts.write(machine: config, store: store)
                try contexts.setCurrent(name: name)
            }
            try store.setActiveMachine(name)
            Output.err("Active machine: \(name)")
            if dockerContext {
                if config.isBehindJumpHosts {
                    let pid = try await TunnelService(store: store).ensureRunning(config, executable: Tunnel.executable)
                    Output.err("Engine API of \(name) forwarded over SSH to \(config.clientURL) (pid \(pid))")
                }
                Output.err("Docker CLI context: \(name) (`docker ps` now talks to \(config.clientURL))")
                let env = ProcessInfo.processInfo.environment
                if let host = env["DOCKER_HOST"], !host.isEmpty {
                    Output.err(
                        "Note: DOCKER_HOST=\(host) in this shell overrides the context; clear it with `eval \"$(swock-machine env --unset)\"`"
                    )
                } else if let ctx = env["DOCKER_CONTEXT"], !ctx.isEmpty, ctx != name {
                    Output.err(
                        "Note: DOCKER_CONTEXT=\(ctx) in this shell overrides the current context; `unset DOCKER_CONTEXT` to use \(name)")
                }
            }
        }
    }
}
