import ArgumentParser
import Foundation
import SwockClient
import SwockRemote
import SwockStore
import SwockSwarm

struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the commands that point the docker CLI and SDKs at a machine: eval \"$(swock-machine env NAME)\"",
        discussion: Help.discussion(
            "Instant: it checks offline what it can (certificates present, not expired, covering the address); --check also asks the daemon.",
            examples: [
                "eval \"$(swock-machine env web1)\"",
                "swock-machine env --shell fish web1 | source",
                "eval \"$(swock-machine env --unset)\"",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: OptionalMachineName

    @Option(help: "The shell whose syntax to print (default: from $SHELL).")
    var shell: ShellEnv.Shell?

    @Flag(name: [.customShort("u"), .long], help: "Print the commands that undo it (no machine name then).")
    var unset = false

    @Flag(name: .customLong("no-proxy"), help: "Add the machine's address to NO_PROXY.")
    var noProxy = false

    @Flag(help: "Check that the daemon answers over mutual TLS before printing.")
    var check = false

    @Flag(help: "Point at a reachable manager of the machine's swarm (the machine itself if it is one).")
    var swarm = false

    var request: EnvRequest {
        EnvRequest(global: global.values, name: machine.name, shell: shell, unset: unset, noProxy: noProxy, check: check, swarm: swarm)
    }

    func run() async throws {
        try await reportingErrors { try await request.run() }
    }
}

/// What `env` was asked, parsed (by ArgumentParser, or by `LeanCommandLine`).
struct EnvRequest: LeanRequest, Equatable {
    var global: GlobalValues
    var name: String?
    var shell: ShellEnv.Shell?
    var unset = false
    var noProxy = false
    var check = false
    var swarm = false

    func run() async throws {
        let sh = shell ?? ShellEnv.detect(shellPath: ProcessInfo.processInfo.environment["SHELL"])
        var usage = "swock-machine env"
        if global.storagePath != nil { usage += " -s \(global.store.root)" }
        if shell != nil { usage += " --shell \(sh.rawValue)" }
        if unset {
            // Docker Machine's wording, which scripts know.
            if let name {
                throw UsageError(
                    "Expected no machine name when the -u flag is present; run `swock-machine env -u` to print the commands that undo `env \(name)`"
                )
            }
            var keys = Store.dockerEnvironmentKeys
            if noProxy { keys.append("NO_PROXY") }
            Output.out(ShellEnv.unset(keys, shell: sh, usage: usage + " --unset"))
            return
        }
        var (store, config) = try global.loadMachine(name)
        if swarm { config = try store.load(try await SwarmControl(store: store, timeout: .seconds(5)).reachableManager(of: config.name)) }
        if let problem = OfflineCheck.problems(config, store: store).first { throw problem }
        if check {
            let status = await MachineStatus.probe(config, store: store, timeout: .seconds(5))
            guard status.state == .running else {
                throw UserFacingError(
                    "Host is not running (\(status.state.rawValue)\(status.error.map { ": \($0)" } ?? "")); `swock-machine start \(config.name)` starts it"
                )
            }
        }
        if config.isBehindJumpHosts {
            // The daemon is not reachable from here: DOCKER_HOST is our forward over SSH.
            let pid = try await TunnelService(store: store).ensureRunning(config, executable: Tunnel.executable)
            Output.err(
                "# \(config.name) is behind \(config.ssh.proxyJump!.map(\.description).joined(separator: ", ")): its Engine API is forwarded to \(config.clientURL) (pid \(pid); `swock-machine tunnel --stop \(config.name)` ends it)"
            )
        }
        try store.refreshDockerCertPath(config)
        var vars = store.dockerEnvironment(config)
        if noProxy {
            let existing = ProcessInfo.processInfo.environment["NO_PROXY"] ?? ProcessInfo.processInfo.environment["no_proxy"] ?? ""
            var parts = existing.split(separator: ",").map(String.init)
            if !parts.contains(config.address) { parts.append(config.address) }
            vars.append(("NO_PROXY", parts.joined(separator: ",")))
        }
        Output.out(ShellEnv.set(vars, shell: sh, usage: usage + (swarm ? " --swarm" : "") + " \(name ?? config.name)"))
    }
}
