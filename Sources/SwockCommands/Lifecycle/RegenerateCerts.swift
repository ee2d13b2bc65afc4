import ArgumentParser
import Foundation
import SwockClient
import SwockEngine
import SwockRemote

struct RegenerateCerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regenerate-certs",
        abstract: "Issue and install a new server certificate and restart the daemon; containers keep running.",
        discussion: Help.discussion(
            """
            Only the certificates change: nothing else is re-provisioned. Client certificates already \
            handed out keep working unless --client-certs, which also makes a new CA and client \
            certificate (other machines keep their copies of the old ones until regenerated too). \
            The certificate covers the names the operator gave (the address, --hostname, --tls-san), \
            never one the host reports; a stored certificate of any machine that covers another \
            machine's address is named in a warning.
            """,
            examples: [
                "swock-machine regenerate-certs web1",
                "swock-machine regenerate-certs -f web1 web2",
                "swock-machine regenerate-certs -f --client-certs web1 web2",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Flag(name: .customLong("client-certs"), help: "Also make a new CA and client certificate.")
    var clientCerts = false

    @Flag(name: [.customShort("f"), .long], help: "Do not ask for confirmation.")
    var force = false

    @Argument(help: "Machine names (default: the active machine).", completion: .machineNames)
    var names: [String] = []

    func run() async throws {
        try await reportingErrors {
            let store = global.store
            let targets = try names.isEmpty ? [MachineResolver(store: store).resolveName(nil)] : names
            for n in targets { _ = try store.load(n) }
            if !force {
                try Output.confirm(
                    "Regenerate TLS machine certs for \(targets.joined(separator: ", "))? Warning: this is irreversible.",
                    abort: "aborted: no certificate was changed")
            }
            var rotation = CertificateRotation(store: store, logger: global.logger("swock.certs"))
            rotation.keeper = try keeper.client(store, global)
            var failed = 0
            // One at a time with --client-certs: they share the one new CA.
            for n in targets {
                do {
                    let summary = try await rotation.regenerate(n, clientCerts: clientCerts && n == targets[0])
                    KeeperClient.drop(n, store: store)
                    Output.err("(\(n)) \(summary)")
                    ContextSync.write(n, store: store)
                } catch {
                    Output.err("Error: \(n): \(ErrorReport.line(error))")
                    failed += 1
                }
            }
            // Certificates (of these machines or others) that still cover another machine's address.
            let configs = store.list().compactMap { try? $0.result.get() }
            for f in CertificateOverlap.findings(in: store, configs: configs) { Output.err(ErrorReport.warning(f)) }
            if failed > 0 { throw ExitCode(ErrorReport.fleetStatus(total: targets.count, failed: failed)) }
        }
    }
}
