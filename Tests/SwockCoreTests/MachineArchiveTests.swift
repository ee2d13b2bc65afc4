import Foundation
import SwockPKI
import SwockSupport
import Testing

@testable import SwockInventory
@testable import SwockStore

/// The export archive and the import into a store, on the file system only (InventoryTests
/// drives a real machine through both).
struct MachineArchiveTests {
    /// A machine as a store holds it after create: real certificates from a real CA.
    static func machine(_ name: String, ca: CertificateAuthority) throws -> MachineArchive.Machine {
        let client = try ca.issueClientCertificate(keyType: .ecdsaP256)
        let server = try ca.issueServerCertificate(commonName: name, subjectAltNames: ["10.231.254.2"], keyType: .ecdsaP256)
        var config = MachineConfig(
            name: name, address: "10.231.254.2",
            ssh: SSHSettings(
                user: "root", port: 22, authMode: .generatedKey, keyPath: Store.generatedKeyPath(name),
                knownHostsPath: Store.knownHostsPath(name)),
            engine: EngineSettings(), tls: TLSSettings(keyType: "ecdsa"))
        config.provisioning.phase = .ready
        return MachineArchive.Machine(
            config: config,
            files: [
                "ca.pem": Data(ca.certificatePEM.utf8), "cert.pem": Data(client.certificatePEM.utf8),
                "key.pem": Data(client.privateKeyPEM.utf8),
                "server.pem": Data(server.certificatePEM.utf8), "server-key.pem": Data(server.privateKeyPEM.utf8),
                "known_hosts": Data("10.231.254.2 ssh-ed25519 AAAA\n".utf8),
                "id_ed25519": Data("-----BEGIN OPENSSH PRIVATE KEY-----\n".utf8),
            ])
    }

    @Test func roundTripAndEveryFileIsChecked() throws {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let archive = MachineArchive(
            machines: [try Self.machine("web1", ca: ca)], caKeys: [try Store.caID(caPEM: ca.certificatePEM): Data(ca.privateKeyPEM.utf8)])
        let tar = try archive.tar()
        let back = try MachineArchive.read(tar, file: "a.swock", passphrase: nil)
        #expect(back.machines.map(\.config.name) == ["web1"])
        #expect(back.machines[0].files == archive.machines[0].files)
        #expect(back.caKeys == archive.caKeys)

        // One changed byte inside a file.
        var entries = try Tar.read(tar)
        let i = try #require(entries.firstIndex { $0.path == "machines/web1/cert.pem" })
        entries[i].data[40] ^= 0x01
        #expect(throws: InventoryError.damaged(file: "a.swock", reason: "machines/web1/cert.pem does not match its checksum")) {
            try MachineArchive.read(try Tar.write(entries), file: "a.swock", passphrase: nil)
        }
        // A file slipped in, one taken out, the manifest gone.
        let original = try Tar.read(tar)
        #expect(throws: InventoryError.damaged(file: "a.swock", reason: "machines/web1/evil is not in the manifest")) {
            try MachineArchive.read(try Tar.write(original + [.file("machines/web1/evil", Data())]), file: "a.swock", passphrase: nil)
        }
        #expect(throws: InventoryError.damaged(file: "a.swock", reason: "machines/web1/key.pem is missing")) {
            try MachineArchive.read(try Tar.write(original.filter { $0.path != "machines/web1/key.pem" }), file: "a.swock", passphrase: nil)
        }
        #expect(throws: InventoryError.notAnExport(file: "a.swock", reason: "no manifest.json")) {
            try MachineArchive.read(try Tar.write(original.filter { $0.path != "manifest.json" }), file: "a.swock", passphrase: nil)
        }
        #expect(throws: InventoryError.self) { try MachineArchive.read(tar.prefix(tar.count / 2), file: "a.swock", passphrase: nil) }
        #expect(throws: InventoryError.notAnExport(file: "a.swock", reason: "not a tar archive")) {
            try MachineArchive.read(Data("hello".utf8), file: "a.swock", passphrase: nil)
        }
    }

    @Test func sealedArchivesNeedTheirPassphrase() throws {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let tar = try MachineArchive(machines: [try Self.machine("web1", ca: ca)], caKeys: [:]).tar()
        let sealed = try PassphraseSeal.seal(tar, passphrase: "pw", cost: 10)
        #expect(throws: InventoryError.encryptedNeedsPassphrase(file: "f")) { try MachineArchive.read(sealed, file: "f", passphrase: nil) }
        #expect(throws: InventoryError.cannotDecrypt(file: "f", reason: PassphraseSeal.Failure.wrongPassphraseOrChanged.description)) {
            try MachineArchive.read(sealed, file: "f", passphrase: "PW")
        }
        #expect(try MachineArchive.read(sealed, file: "f", passphrase: "pw").machines.count == 1)
    }

    @Test func importKeepsTheForeignCAAndNeverOverwrites() throws {
        let dir = try TempDir("import")
        defer { dir.remove() }
        let store = Store(root: dir.sub("store"))
        _ = try store.ensureCA()  // this store has a CA of its own
        let foreign = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let id = try Store.caID(caPEM: foreign.certificatePEM)
        let archive = MachineArchive(
            machines: [try Self.machine("web1", ca: foreign), try Self.machine("web2", ca: foreign)],
            caKeys: [id: Data(foreign.privateKeyPEM.utf8)])

        #expect(try MachineImport(store: store).run(archive) == ["web1", "web2"])
        let web1 = try store.load("web1")
        #expect(web1.tls.caDir == "cas/\(id)")
        #expect(web1.ssh.keyPath == "machines/web1/id_ed25519")
        let material = try store.clientMaterial(for: web1)
        #expect(material.ca.certificatePEM == foreign.certificatePEM)
        #expect(material.ca.verify(certificatePEM: try store.readMachineFile("web1", "server.pem")))
        for f in ["machines/web1/key.pem", "cas/\(id)/ca-key.pem", "machines/web1/config.json"] {
            let mode = try FileManager.default.attributesOfItem(atPath: store.resolve(f))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(f)")
        }

        // A clash stops everything, even the machine that would not clash.
        let listing = try FileManager.default.subpathsOfDirectory(atPath: store.root).sorted()
        let clash = MachineArchive(machines: [try Self.machine("new1", ca: foreign), try Self.machine("web1", ca: foreign)], caKeys: [:])
        #expect(throws: InventoryError.clash("web1")) { try MachineImport(store: store).run(clash) }
        #expect(try FileManager.default.subpathsOfDirectory(atPath: store.root).sorted() == listing)

        // Renames: checked, then applied.
        #expect(throws: InventoryError.badRename("web1")) { try MachineImport.renames(["web1"], archive: clash, file: "f") }
        #expect(throws: InventoryError.unknownRename("nope", file: "f")) {
            try MachineImport.renames(["nope=x"], archive: clash, file: "f")
        }
        #expect(throws: InventoryError.duplicateTarget("new1")) { try MachineImport(store: store).run(clash, renames: ["web1": "new1"]) }
        let map = try MachineImport.renames(["web1=web1-copy"], archive: clash, file: "f")
        #expect(try MachineImport(store: store).run(clash, renames: map) == ["new1", "web1-copy"])
        #expect(try store.load("web1-copy").ssh.knownHostsPath == "machines/web1-copy/known_hosts")
        #expect(store.names() == ["new1", "web1", "web1-copy", "web2"])
    }

    /// A `none` machine has only what a client needs (the endpoint's CA, a client certificate
    /// and key): export takes it, import gives it back with those files and its endpoint.
    @Test func anAdoptedEndpointExportsAndImportsWithItsClientFiles() throws {
        let dir = try TempDir("import")
        defer { dir.remove() }
        let from = Store(root: dir.sub("from"))
        try from.ensureLayout()
        let endpointCA = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let client = try endpointCA.issueClientCertificate(keyType: .ecdsaP256)
        var config = MachineConfig(
            name: "ext1", driver: "none", address: "10.231.254.9",
            ssh: SSHSettings(user: "", port: 0, authMode: .agentOrDefaultKeys, keyPath: nil, knownHostsPath: Store.knownHostsPath("ext1")),
            engine: EngineSettings(port: 2376, install: .none), tls: TLSSettings(keyType: "ecdsa"))
        config.driverOptions = DriverOptions(.object(["url": .string("tcp://10.231.254.9:2376")]))
        config.provisioning.phase = .ready
        let files = [
            "ca.pem": Data(endpointCA.certificatePEM.utf8), "cert.pem": Data(client.certificatePEM.utf8),
            "key.pem": Data(client.privateKeyPEM.utf8),
        ]
        try from.reserve(config, files: files)

        let archive = try MachineExport(store: from).archive(["ext1"], withCAKey: false)
        #expect(archive.machines[0].files == files)
        let back = try MachineArchive.read(try archive.tar(), file: "a.swock", passphrase: nil)
        let to = Store(root: dir.sub("to"))
        #expect(try MachineImport(store: to).run(back) == ["ext1"])
        let imported = try to.load("ext1")
        #expect(imported.driver == "none" && imported.engineURL == "tcp://10.231.254.9:2376")
        #expect(imported.driverOptions == config.driverOptions)
        for (f, d) in files { #expect(try to.readMachineFile("ext1", f) == String(decoding: d, as: UTF8.self), "\(f)") }
        #expect(imported.tls.caDir == "cas/\(try Store.caID(caPEM: endpointCA.certificatePEM))")
        // A machine with SSH still needs its daemon certificate and host key.
        var generic = try Self.machine("web1", ca: endpointCA)
        generic.files["known_hosts"] = nil
        let entries = try Tar.read(try MachineArchive(machines: [generic], caKeys: [:]).tar())
        #expect(throws: InventoryError.damaged(file: "a.swock", reason: "machines/web1/known_hosts is missing")) {
            try MachineArchive.read(try Tar.write(entries), file: "a.swock", passphrase: nil)
        }
    }

    @Test func aMachineOfTheStoresOwnCAPointsAtTheStore() throws {
        let dir = try TempDir("own")
        defer { dir.remove() }
        let store = Store(root: dir.sub("store"))
        let own = try store.ensureCA().ca
        try MachineImport(store: store, trust: .init(storeCA: true)).run(
            MachineArchive(machines: [try Self.machine("back", ca: own)], caKeys: [:]))
        #expect(try store.load("back").tls.caDir == nil)
        #expect(!FileManager.default.fileExists(atPath: store.root + "/cas"))
    }

    /// A passphrase says the archive must be sealed: a plain one, which anyone could have
    /// written, is refused before it is even parsed.
    @Test func aPassphraseRefusesAPlainArchive() throws {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let plain = try MachineArchive(machines: [try Self.machine("web1", ca: ca)], caKeys: [:]).tar()
        #expect(throws: InventoryError.notSealed(file: "f")) { try MachineArchive.read(plain, file: "f", passphrase: "pw") }
        #expect(try MachineArchive.read(plain, file: "f", passphrase: nil).machines.count == 1)
        let refusal = InventoryError.notSealed(file: "f").description
        #expect(!refusal.contains("\n") && refusal.contains("not sealed"), "\(refusal)")
    }

    /// Crafted archives: extra SANs, and a record that claims the store's own CA (so that a
    /// later provision would sign the archive's address and names with it). Each is refused
    /// without its flag, with the store left exactly as it was, and taken with it.
    @Test func extraSANsAndTheStoresOwnCANeedTheirFlags() throws {
        let dir = try TempDir("trust")
        defer { dir.remove() }
        let store = Store(root: dir.sub("store"))
        let own = try store.ensureCA().ca
        try store.ensureLayout()
        func listing() throws -> [String] { try FileManager.default.subpathsOfDirectory(atPath: store.root).sorted() }
        let before = try listing()

        let foreign = try CertificateAuthority.generate(keyType: .ecdsaP256)
        var sans = try Self.machine("sans", ca: foreign)
        sans.config.tls.extraSANs = ["victim.example", "10.231.1.99", "*.example"]
        let withSANs = try MachineArchive.read(try MachineArchive(machines: [sans], caKeys: [:]).tar(), file: "f", passphrase: nil)
        #expect(throws: InventoryError.extraSANs(machine: "sans", sans: ["victim.example", "10.231.1.99", "*.example"])) {
            try MachineImport(store: store).run(withSANs)
        }
        #expect(try listing() == before, "a refused import wrote to the store")
        let sansText = InventoryError.extraSANs(machine: "sans", sans: ["a\nb"]).description
        #expect(sansText.contains("nothing was imported") && !sansText.contains("\n"), "\(sansText)")

        var claim = try Self.machine("claim", ca: own)
        claim.config.address = "10.231.1.99"
        let claiming = try MachineArchive.read(try MachineArchive(machines: [claim], caKeys: [:]).tar(), file: "f", passphrase: nil)
        #expect(throws: InventoryError.claimsStoreCA(machine: "claim", address: "10.231.1.99")) {
            try MachineImport(store: store).run(claiming)
        }
        // The other flag is not enough.
        #expect(throws: InventoryError.claimsStoreCA(machine: "claim", address: "10.231.1.99")) {
            try MachineImport(store: store, trust: .init(extraSANs: true)).run(claiming)
        }
        #expect(try listing() == before, "a refused import wrote to the store")
        #expect(InventoryError.claimsStoreCA(machine: "claim", address: "x").code == "inventory.claims-store-c-a")

        // Both in one archive: the first one not accepted is what stops it.
        let both = MachineArchive(machines: [claim, sans], caKeys: [:])
        #expect(
            MachineImport(store: store).concerns(both) == [
                .storeCA(machine: "claim", address: "10.231.1.99"),
                .extraSANs(machine: "sans", sans: ["victim.example", "10.231.1.99", "*.example"]),
            ])
        #expect(throws: InventoryError.extraSANs(machine: "sans", sans: ["victim.example", "10.231.1.99", "*.example"])) {
            try MachineImport(store: store, trust: .init(storeCA: true)).run(both)
        }
        #expect(try listing() == before, "a refused import wrote to the store")

        // Asked for: taken.
        #expect(try MachineImport(store: store, trust: .init(extraSANs: true, storeCA: true)).run(both) == ["claim", "sans"])
        #expect(try store.load("sans").tls.extraSANs == ["victim.example", "10.231.1.99", "*.example"])
        #expect(try store.load("claim").tls.caDir == nil)
    }

    @Test func withoutTheCAKeyTheMachineWorksButCannotBeReissued() throws {
        let dir = try TempDir("nokey")
        defer { dir.remove() }
        let store = Store(root: dir.sub("store"))
        let foreign = try CertificateAuthority.generate(keyType: .ecdsaP256)
        try MachineImport(store: store).run(MachineArchive(machines: [try Self.machine("web1", ca: foreign)], caKeys: [:]))
        let c = try store.load("web1")
        #expect(throws: StoreError.self) { try store.clientMaterial(for: c) }
        #expect(throws: StoreError.importedWithoutCAKey("web1")) { try store.clientMaterial(for: c) }
    }
}
