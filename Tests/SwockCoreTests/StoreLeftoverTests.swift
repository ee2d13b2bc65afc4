import FleetSupport
import Foundation
import SwockPKI
import Testing

@testable import SwockStore

/// What a process killed mid-write leaves in the store, and the next command taking it away.
@Suite struct StoreLeftoverTests {
    /// The PID of a process that has exited (and been reaped): surely no process now.
    static func goneProcessID() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    /// Sets a path's modification time `seconds` into the past.
    static func age(_ path: String, _ seconds: Int) {
        var times = [timespec(tv_sec: time(nil) - seconds, tv_nsec: 0), timespec(tv_sec: time(nil) - seconds, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    @Test(
        arguments: [
            (".config.json.tmp-4242-123", 4242),
            (".ca-key.pem.tmp-7-4294967295", 7),
            (".claim-99-17-web1", 99),
            (".claim-99-17-web-1.example", 99),
            (".importing-1234-5-db", 1234),
            (".removing-31-8-a-b", 31),
            (".removing-web1-555", 555),
        ] as [(String, Int32)])
    func hiddenNamesCarryTheirWritersPID(name: String, pid: Int32) {
        #expect(Leftover.pid(inHiddenName: name) == pid)
    }

    @Test(arguments: ["config.json", ".lock", "web1", ".config.json.tmp-x-1", ".claim-web1", ".other-1-2-x", ".tmp-", ".removing-x"])
    func otherNamesAreNotLeftovers(name: String) {
        #expect(Leftover.pid(inHiddenName: name) == nil)
    }

    @Test func theSweepTakesWhatGoneProcessesLeftAndNothingElse() throws {
        let dir = try TempDir("sweep")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("a"))
        _ = try store.ensureCA()
        let gone = try Self.goneProcessID(), alive = getpid()
        let dead = [
            store.machineDir("a") + "/.config.json.tmp-\(gone)-1",
            store.certsDir + "/.ca.pem.tmp-\(gone)-2",
            store.root + "/.active.tmp-\(gone)-3",
            store.machinesDir + "/.claim-\(gone)-4-b",
            store.machinesDir + "/.removing-\(gone)-5-c",
        ]
        let live = [store.machineDir("a") + "/.known_hosts.tmp-\(alive)-6", store.machinesDir + "/.claim-\(alive)-7-d"]
        let young = store.machinesDir + "/.importing-\(gone)-8-e"
        for p in dead + live + [young] {
            if p.contains("/.claim-") || p.contains("/.removing-") || p.contains("/.importing-") {
                try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
                try Data("x".utf8).write(to: URL(fileURLWithPath: p + "/config.json"))
            } else {
                try Data("partial".utf8).write(to: URL(fileURLWithPath: p))
            }
            if p != young { Self.age(p, 60) }
        }
        let removed = store.sweepLeftovers()
        #expect(Set(removed) == Set(dead.map(store.relative)), "\(removed)")
        for p in dead { #expect(!FileManager.default.fileExists(atPath: p), "\(p) stayed") }
        for p in live + [young] { #expect(FileManager.default.fileExists(atPath: p), "\(p) was removed") }
        #expect(store.names() == ["a"])
        #expect(try store.load("a").name == "a")
    }

    @Test func reserveClaimsWholeOrNotAtAll() throws {
        let dir = try TempDir("claim")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1"), files: ["known_hosts": Data("pinned\n".utf8)])
        #expect(try String(contentsOfFile: store.machineDir("web1") + "/known_hosts", encoding: .utf8) == "pinned\n")
        #expect(throws: StoreError.alreadyExists("web1")) { try store.reserve(sampleConfig("web1"), files: ["known_hosts": Data()]) }
        // Nothing hidden is left in machines/: no staging directory of either reserve.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.machinesDir) == ["web1"])
        // An empty directory (what an older swock-machine's killed create left) is no machine: taken over.
        try FileManager.default.createDirectory(atPath: store.machineDir("old"), withIntermediateDirectories: true)
        try store.reserve(sampleConfig("old"))
        #expect(try store.load("old").name == "old")
    }

    @Test func aGroupOfFilesIsWrittenBeforeAnyIsRenamed() throws {
        let dir = try TempDir("group")
        defer { dir.remove() }
        let a = dir.sub("a"), b = dir.sub("missing-dir/b")
        try Data("old a".utf8).write(to: URL(fileURLWithPath: a))
        // The second file cannot be written: the first must stay as it was.
        #expect(throws: StoreError.self) { try AtomicFile.write([(a, Data("new a".utf8)), (b, Data("new b".utf8))]) }
        #expect(try String(contentsOfFile: a, encoding: .utf8) == "old a")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a"])
        try AtomicFile.write([(a, Data("new a".utf8)), (dir.sub("c"), Data("new c".utf8))])
        #expect(try String(contentsOfFile: a, encoding: .utf8) == "new a")
        #expect(try String(contentsOfFile: dir.sub("c"), encoding: .utf8) == "new c")
    }

    /// `regenerate-certs --client-certs` renews the CA, keys first; killed between the renames the
    /// store holds the new CA key and the old CA certificate. The next command goes on with a CA
    /// (nothing was signed with the new key yet), and the machines keep their own copies.
    @Test func aCARenewalCutBetweenItsRenamesDoesNotWedgeTheStore() throws {
        let dir = try TempDir("renew")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let old = try store.ensureCA()
        try store.reserve(sampleConfig("m"))
        try store.writeMachineFile("m", "ca.pem", old.caPEM)
        let renewed = try CertificateAuthority.generate(keyType: .ecdsaP256)
        try AtomicFile.write(renewed.privateKeyPEM, to: store.certsDir + "/ca-key.pem")
        let material = try store.ensureCA()
        #expect(PEMKeyPair(certificatePEM: material.ca.certificatePEM, privateKeyPEM: material.ca.privateKeyPEM).keyMatchesCertificate)
        #expect(material.ca.verify(certificatePEM: material.clientCertPEM))
        #expect(PEMKeyPair(certificatePEM: material.clientCertPEM, privateKeyPEM: material.clientKeyPEM).keyMatchesCertificate)
        #expect(try store.readMachineFile("m", "ca.pem") == old.caPEM)
        // And a second call loads the same CA.
        #expect(try store.ensureCA().caPEM == material.caPEM)
    }

    /// A machine's copy of the old CA certificate matching the surviving key brings it back.
    @Test func aLostCACertificateComesBackFromAMachine() throws {
        let dir = try TempDir("restore")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let ca = try store.ensureCA()
        try store.reserve(sampleConfig("m"))
        try store.writeMachineFile("m", "ca.pem", ca.caPEM)
        let other = try CertificateAuthority.generate(keyType: .ecdsaP256)
        try AtomicFile.write(other.certificatePEM, to: store.certsDir + "/ca.pem")
        #expect(try store.ensureCA().caPEM == ca.caPEM)
    }

    @Test func aServerPairFromTwoGenerationsIsNoPair() throws {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let one = try ca.issueServerCertificate(commonName: "m", subjectAltNames: ["10.0.0.5"])
        let two = try ca.issueServerCertificate(commonName: "m", subjectAltNames: ["10.0.0.5"])
        #expect(PEMKeyPair(certificatePEM: one.certificatePEM, privateKeyPEM: one.privateKeyPEM).keyMatchesCertificate)
        #expect(!PEMKeyPair(certificatePEM: one.certificatePEM, privateKeyPEM: two.privateKeyPEM).keyMatchesCertificate)
        #expect(!PEMKeyPair(certificatePEM: "garbage", privateKeyPEM: one.privateKeyPEM).keyMatchesCertificate)
    }
}
