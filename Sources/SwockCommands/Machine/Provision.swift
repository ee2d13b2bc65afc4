import ArgumentParser
import Foundation
import SwockProvision
import SwockRemote

struct Provision: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Re-run provisioning: resumes a create that stopped, and is harmless on a healthy machine.",
        discussion: Help.discussion(examples: [
            "swock-machine provision web1",
            "swock-machine provision web1 web2 db1",
            "swock-machine provision --rerun-scripts web1",
        ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Flag(
        name: .customLong("rerun-scripts"),
        help:
            "Run the machine's provision scripts (create --provision-script) again, each read again from its path (the store's copy when the file is gone); without it they run only if they never have."
    )
    var rerunScripts = false

    @OptionGroup var progressOptions: ProgressOptions

    @Argument(help: "Machine names.", completion: .machineNames)
    var names: [String]

    func run() async throws {
        try await reportingErrors {
            guard !names.isEmpty else { throw UsageError("name at least one machine to provision") }
            let display = ProvisionDisplay(names: names, mode: progressOptions.progress)
            var configured = Provisioner(store: global.store, progress: display.progress, logger: global.logger("swock.provision"))
            configured.keeper = try keeper.client(global.store, global)
            let provisioner = configured
            let board = display.board
            board?.start { running in
                "their records say where each stopped; run `swock-machine provision \(running.joined(separator: " "))` to go on"
            }
            var failures: [any Error] = []
            await withTaskGroup(of: (any Error)?.self) { group in
                for name in names {
                    group.addTask {
                        do {
                            let c = try await provisioner.provision(
                                name, password: ProcessInfo.processInfo.environment["SWOCK_GENERIC_SSH_PASSWORD"],
                                rerunScripts: rerunScripts)
                            let scriptFailed = ProvisionScriptFailed(c)
                            if let board {
                                board.finish(
                                    name, ok: scriptFailed == nil,
                                    detail: scriptFailed?.summary ?? "Docker \(c.engine.version ?? "?") is up at \(c.engineURL)")
                            } else {
                                Output.err("(\(name)) Docker \(c.engine.version ?? "?") is up at \(c.engineURL)")
                            }
                            ContextSync.write(name, store: provisioner.store)
                            return scriptFailed
                        } catch {
                            board?.finish(name, ok: false, detail: ErrorReport.line(error))
                            return error
                        }
                    }
                }
                for await f in group { if let f { failures.append(f) } }
            }
            board?.stop()
            if names.count == 1, let only = failures.first { throw only }
            if !failures.isEmpty {
                for f in failures { Output.err("Error: \(ErrorReport.line(f))") }
                throw ExitCode(ErrorReport.fleetStatus(total: names.count, failed: failures.count))
            }
        }
    }
}
