import ArgumentParser
import Foundation
import SwockClient
import SwockInventory
import SwockPKI
import SwockStore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write machines to one archive that another store can import.",
        discussion: Help.discussion(
            """
            The archive holds each machine's record and what a client needs: the CA certificate, \
            the client certificate and key, the server certificate, the pinned host key, the SSH key \
            when create generated one, and the sudo password when create was given one. It is written 0600 and atomically. --with-ca-key adds the \
            key of each machine's CA, which regenerate-certs and provision need in the other store. \
            A passphrase encrypts it (scrypt and ChaCha20-Poly1305). --docker-context instead writes \
            one machine as an archive for `docker context import NAME FILE`.
            """,
            examples: [
                "swock-machine export web1 web2 -o fleet.swock",
                "swock-machine export --with-ca-key --passphrase-env PASS web1 -o web1.swock",
                "swock-machine export --docker-context web1 -o web1.ctx",
            ]))

    @OptionGroup var global: GlobalOptions

    @Option(
        name: [.customShort("o"), .customLong("output")],
        help: ArgumentHelp("The archive to write (replaced if it exists).", valueName: "file"))
    var output: String

    @Flag(name: .customLong("with-ca-key"), help: "Include each machine's CA key (needed to re-issue certificates from the other store).")
    var withCAKey = false

    @Flag(name: .customLong("docker-context"), help: "Write an archive `docker context import` reads (one machine; not encrypted).")
    var dockerContext = false

    @OptionGroup var passphrase: PassphraseOptions

    @Argument(help: "Machine names.", completion: .machineNames)
    var names: [String] = []

    func run() async throws {
        try await reportingErrors {
            guard !names.isEmpty else { throw UsageError("name at least one machine to export") }
            let store = global.store
            let data: Data
            var what: String
            if dockerContext {
                guard names.count == 1 else { throw InventoryError.tooManyForDockerContext }
                guard !passphrase.given, !withCAKey else {
                    throw UsageError(
                        "--docker-context archives are read by docker, which neither decrypts them nor uses a CA key; drop --passphrase-* and --with-ca-key"
                    )
                }
                data = try DockerContexts.exportArchive(machine: try store.load(names[0]), store: store)
                what = "a docker context archive"
            } else {
                let secret = try passphrase.read()
                let archive = try MachineExport(store: store).archive(names, withCAKey: withCAKey)
                let tar = try archive.tar()
                data = try secret.map { try PassphraseSeal.seal(tar, passphrase: $0) } ?? tar
                what = secret == nil ? "not encrypted" : "encrypted"
                what += withCAKey ? ", with the CA key" : ", without the CA key"
            }
            try AtomicFile.write(data, to: output, mode: 0o600)
            Output.err("Exported \(names.joined(separator: ", ")) to \(output) (\(what))")
        }
    }
}
