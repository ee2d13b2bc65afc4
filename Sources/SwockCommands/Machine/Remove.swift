import ArgumentParser
import Foundation
import SwockProvision
import SwockRemote
import SwockStore
import SwockSwarm

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove machines: take our configuration off the host, then drop the local record.",
        discussion: Help.discussion(
            "dockerd keeps running on the host, on its unix socket only; running containers are not touched. A Swarm node leaves its swarm first (drained, then removed from the node list); the last manager only with -f. The SSH key create generated for a host that took a password (--generic-ssh-password) is taken off the user's authorized_keys, so a copy of it (an old export) no longer logs in; the file's other lines, mode and owner stay.",
            examples: [
                "swock-machine rm web1",
                "swock-machine rm -f web1 web2",
            ]))

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customShort("y"), help: "Do not ask for confirmation.")
    var yes = false

    @Flag(
        name: [.customShort("f"), .long],
        help: "Remove the local record even when the host cannot be cleaned; does not ask (as in Docker Machine).")
    var force = false

    @Argument(help: "Machine names.", completion: .machineNames)
    var names: [String]

    func run() async throws {
        try await reportingErrors {
            guard !names.isEmpty else { throw UsageError("name at least one machine to remove") }
            let store = global.store
            for n in names where !store.exists(n) {
                try MachineName.validate(n)
                throw StoreError.notFound(n)
            }
            if !yes && !force {
                Output.err("About to remove \(names.joined(separator: ", "))")
                try Output.confirm("Are you sure?", abort: "aborted: nothing was removed")
            }
            let remover = Remover(store: store, logger: global.logger("swock.rm"))
            let swarm = SwarmControl(store: store)
            var failed = 0
            for n in names {
                do {
                    if let left = try await swarm.leaveBeforeRemoval(n, force: force) { Output.err("(\(n)) \(left)") }
                    let warning = try await remover.remove(n, force: force)
                    KeeperClient.drop(n, store: store)
                    if let warning { Output.err("Warning: \(n): \(warning)") }
                    ContextSync.remove(n)
                    Output.out("Successfully removed \(n)\n")
                } catch {
                    Output.err("Error: \(ErrorReport.line(error))")
                    failed += 1
                }
            }
            if failed > 0 { throw ExitCode(ErrorReport.fleetStatus(total: names.count, failed: failed)) }
        }
    }
}
