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
        ]))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Machine names.", completion: .machineNames)
    var names: [String]

    func run() async throws {
        try await reportingErrors {
            guard !names.isEmpty else { throw UsageError("name at least one machine to provision") }
            let provisioner = Provisioner(store: global.store, progress: StderrProgress(), logger: global.logger("swock.provision"))
            var failures: [any Error] = []
            await withTaskGroup(of: (any Error)?.self) { group in
                for name in names {
                    group.addTask {
                        do {
                            let c = try await provisioner.provision(name, password: ProcessInfo.processInfo.environment["SWOCK_GENERIC_SSH_PASSWORD"])
                            Output.err("(\(name)) Docker \(c.engine.version ?? "?") is up at \(c.engineURL)")
                            ContextSync.write(name, store: provisioner.store)
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                for await f in group { if let f { failures.append(f) } }
            }
            if names.count == 1, let only = failures.first { throw only }
            if !failures.isEmpty {
                for f in failures { Output.err("Error: \(ErrorReport.line(f))") }
                throw ExitCode(ErrorReport.fleetStatus(total: names.count, failed: failures.count))
            }
        }
    }
}
