import ArgumentParser
import Foundation
import SwockProvision

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

    @Flag(name: .customLong("rerun-scripts"), help: "Run the machine's provision scripts (create --provision-script) again; without it they run only if they never have.")
    var rerunScripts = false

    @Argument(help: "Machine names.", completion: .machineNames)
    var names: [String]

    func run() async throws {
        try await reportingErrors {
            guard !names.isEmpty else { throw UserFacingError("name at least one machine to provision") }
            let provisioner = Provisioner(store: global.store, progress: StderrProgress(), logger: global.logger("swock.provision"))
            var failures: [String] = []
            await withTaskGroup(of: String?.self) { group in
                for name in names {
                    group.addTask {
                        do {
                            let c = try await provisioner.provision(name, password: ProcessInfo.processInfo.environment["SWOCK_GENERIC_SSH_PASSWORD"],
                                                                    rerunScripts: rerunScripts)
                            Output.err("(\(name)) Docker \(c.engine.version ?? "?") is up at \(c.engineURL)")
                            ContextSync.write(name, store: provisioner.store)
                            return ProvisionScriptFailed(c).map { "\($0)" }
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                for await f in group { if let f { failures.append(f) } }
            }
            if failures.count == 1 { throw UserFacingError(failures[0]) }
            if !failures.isEmpty {
                for f in failures { Output.err("Error: \(f)") }
                throw ExitCode(1)
            }
        }
    }
}
