import ArgumentParser
import Foundation
import SwockInventory
import SwockRemote
import SwockSupport

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add the machines of an export archive to this store.",
        discussion: Help.discussion(
            """
            Nothing is ever overwritten: a machine whose name this store already has stops the \
            import before anything is written (--rename OLD=NEW imports it under another name). \
            A wrong passphrase or a changed or cut archive is refused the same way. Machines keep \
            the CA they came with, so clients of the other store keep working too; docker contexts \
            are written as create writes them.

            With a passphrase, only a sealed archive is taken: a plain one could have been \
            written by anyone. Two things decide what this store's CAs will sign later, so \
            they are shown and refused unless asked for: extra server-certificate names \
            (--tls-san at create; --accept-extra-sans takes them) and a machine whose CA is \
            this store's own (an archive exported from this store; --accept-store-ca).
            """,
            examples: [
                "swock-machine import fleet.swock",
                "swock-machine import --rename web1=web1-copy fleet.swock",
                "swock-machine import --passphrase-stdin web1.swock < passphrase.txt",
            ]))

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("rename"), help: ArgumentHelp("Import machine OLD as NEW (repeatable).", valueName: "old=new"))
    var renames: [String] = []

    @Flag(name: .customLong("accept-extra-sans"), help: "Take machines whose record asks for extra server-certificate names (shown).")
    var acceptExtraSANs = false

    @Flag(
        name: .customLong("accept-store-ca"),
        help: "Take machines whose CA is this store's own (only for an archive exported from this store).")
    var acceptStoreCA = false

    @OptionGroup var passphrase: PassphraseOptions

    @Argument(help: ArgumentHelp("The archive written by `swock-machine export`.", valueName: "file"), completion: .file())
    var file: String

    func run() async throws {
        try await reportingErrors {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw UserFacingError(
                    "cannot read \(file): \(FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file"); give the path of an archive written by `swock-machine export`"
                )
            }
            let archive = try MachineArchive.read(data, file: file, passphrase: try passphrase.read())
            let map = try MachineImport.renames(renames, archive: archive, file: file)
            let store = global.store
            let importer = MachineImport(store: store, trust: .init(extraSANs: acceptExtraSANs, storeCA: acceptStoreCA))
            let concerns = importer.concerns(archive)
            let imported = try importer.run(archive, renames: map)
            for c in concerns { Output.err("Note: \(c.note)") }
            for name in imported {
                ContextSync.write(name, store: store)
                KeeperClient.drop(name, store: store)  // a name imported over: its held connections go
            }
            let described = zip(archive.machines, imported).map { m, name in
                m.config.name == name ? name : "\(m.config.name) as \(name)"
            }
            Output.err("Imported \(described.joined(separator: ", ")) into \(store.root)")
            for name in imported {
                guard let c = try? store.load(name) else { continue }
                if c.ssh.authMode == .key, let key = c.ssh.keyPath, key.hasPrefix("/"), !FileManager.default.fileExists(atPath: key) {
                    Output.err(
                        "Note: \(name) logs in with the SSH key \(key), which is not in the archive and not on this computer; copy it here before `swock-machine ssh \(name)`"
                    )
                }
                // (An adopted endpoint, none, never had its CA's key: nothing of it needs one.)
                if c.hasSSH, c.tls.caDir != nil, (try? store.clientMaterial(for: c)) == nil {
                    Output.err(
                        "Note: \(name) came without its CA's key: docker, ssh and ls work; regenerate-certs and provision need `export --with-ca-key`"
                    )
                }
            }
        }
    }
}
