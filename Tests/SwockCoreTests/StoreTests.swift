import Foundation
import Testing

@testable import SwockStore

@Suite struct StoreTests {
    @Test func reserveLoadSaveRoundTrip() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.sub("store root"))
        let c = sampleConfig("web1")
        let before = Date()
        try store.reserve(c)
        var loaded = try store.load("web1")
        // save stamps updatedAt (JSON keeps whole seconds); everything else round-trips exactly.
        #expect(loaded.updatedAt >= before.addingTimeInterval(-1) && loaded.updatedAt <= Date().addingTimeInterval(1))
        #expect(loaded.updatedAt.timeIntervalSince1970 == loaded.updatedAt.timeIntervalSince1970.rounded())
        var expected = c
        expected.updatedAt = loaded.updatedAt
        #expect(loaded == expected)
        #expect(loaded.createdAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(
            loaded.provisioning.stepsDone.map(\.finishedAt) == [
                Date(timeIntervalSince1970: 1_700_000_010), Date(timeIntervalSince1970: 1_700_000_040),
            ])

        let json = try String(contentsOfFile: store.configPath("web1"), encoding: .utf8)
        #expect(json.contains("\"configVersion\" : 1"))
        #expect(json.contains("\"createdAt\" : \"2023-11-14T22:13:20Z\""))
        #expect(json.contains("https://get.example/install.sh"), "slashes are not escaped")
        #expect(json.hasSuffix("}\n"))

        loaded.address = "10.9.9.9"
        loaded.labels["new"] = "v"
        try store.save(loaded)
        let again = try store.load("web1")
        #expect(again.address == "10.9.9.9" && again.labels == ["team": "core", "new": "v"])
    }

    @Test func reserveTwiceIsAlreadyExistsAndKeepsTheFirst() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1", address: "10.0.0.1"))
        #expect(throws: StoreError.alreadyExists("web1")) { try store.reserve(sampleConfig("web1", address: "10.0.0.2")) }
        #expect(try store.load("web1").address == "10.0.0.1")
        #expect(
            StoreError.alreadyExists("web1").description
                == "Docker machine \"web1\" already exists")
    }

    @Test(arguments: ["", "../evil", "a/b", ".hidden", "x y", "$(id)", ".."])
    func invalidNamesWriteNothing(name: String) throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let root = dir.sub("never created")
        let store = Store(root: root)
        var c = sampleConfig("ok")
        c.name = name
        #expect(throws: StoreError.self) { try store.reserve(c) }
        do { try store.reserve(c) } catch let e as StoreError {
            guard case .invalidName(name, _) = e else { Issue.record("\(e)"); return }
        }
        #expect(!FileManager.default.fileExists(atPath: root))
        #expect(throws: StoreError.self) { try store.load(name) }
        #expect(throws: StoreError.self) { try store.remove(name) }
        #expect(!FileManager.default.fileExists(atPath: root))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func everyDirIs0700AndEveryFile0600() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let root = dir.sub("a/b/store")
        let store = Store(root: root)
        try store.reserve(sampleConfig("web1"))
        try store.reserve(sampleConfig("db1"))
        _ = try store.ensureCA()
        try store.writeMachineFile("web1", "key.pem", "secret")
        try store.setActiveMachine("web1")
        try store.update("db1") { $0.address = "10.1.1.1" }

        var seen = 0
        for path in [dir.sub("a"), dir.sub("a/b")] { #expect(posixMode(path) == 0o700, "\(path)") }
        let e = try #require(FileManager.default.enumerator(atPath: root))
        for case let rel as String in e {
            let p = root + "/" + rel
            seen += 1
            #expect(posixMode(p) == (isDirectory(p) ? 0o700 : 0o600), "\(rel): \(String(posixMode(p) ?? -1, radix: 8))")
        }
        #expect(posixMode(root) == 0o700)
        #expect(seen >= 12)
        for f in [
            ".lock", "active", "certs/ca.pem", "certs/ca-key.pem", "certs/cert.pem", "certs/key.pem",
            "machines/web1/config.json", "machines/web1/key.pem", "machines/db1/config.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: root + "/" + f), "\(f)")
        }
    }

    @Test func removeDeletesEverythingAndClearsActive() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1"))
        try store.reserve(sampleConfig("web2"))
        try store.writeMachineFile("web1", "cert.pem", "x")
        try store.setActiveMachine("web1")

        try store.remove("web2")
        #expect(store.activeMachine() == "web1", "removing another machine keeps the active one")
        try store.remove("web1")
        #expect(!store.exists("web1"))
        #expect(store.activeMachine() == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.machinesDir).isEmpty, "no .removing leftovers")
        #expect(throws: StoreError.notFound("web1")) { try store.remove("web1") }
        #expect(throws: StoreError.notFound("web1")) { try store.load("web1") }
        #expect(StoreError.notFound("web1").description == "Docker machine \"web1\" does not exist")
        // The name is free again.
        try store.reserve(sampleConfig("web1"))
    }

    @Test func updateChangesOneRecordUnderTheLock() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1"))
        let returned = try store.update("web1") { c in
            c.provisioning.phase = .failed
            c.provisioning.lastError = "boom"
            // The lock is held: a non-blocking flock from another descriptor fails.
            let fd = open(store.root + "/.lock", O_RDWR)
            defer { close(fd) }
            #expect(flock(fd, LOCK_EX | LOCK_NB) != 0)
        }
        #expect(returned.provisioning.phase == .failed)
        #expect(try store.load("web1") == returned)
        // After: the lock is free.
        let fd = open(store.root + "/.lock", O_RDWR)
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        close(fd)

        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.update("web1") { c in
                c.address = "changed"; throw Boom()
            }
        }
        #expect(try store.load("web1").address == "10.0.0.5", "a failed change is not saved")
        #expect(throws: StoreError.notFound("ghost")) { try store.update("ghost") { _ in } }
    }

    @Test func activeMachine() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.sub("s"))
        #expect(store.activeMachine() == nil)
        try store.setActiveMachine(nil)
        try store.setActiveMachine("web1")
        #expect(store.activeMachine() == "web1")
        #expect(try String(contentsOfFile: store.root + "/active", encoding: .utf8) == "web1\n")
        try store.setActiveMachine("db1")
        #expect(store.activeMachine() == "db1")
        try store.setActiveMachine(nil)
        #expect(store.activeMachine() == nil)
        try "  web9 \n\n".write(toFile: store.root + "/active", atomically: true, encoding: .utf8)
        #expect(store.activeMachine() == "web9")
        try "\n".write(toFile: store.root + "/active", atomically: true, encoding: .utf8)
        #expect(store.activeMachine() == nil)
    }

    @Test func namesSkipHiddenAndInvalidEntries() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("b"))
        try store.reserve(sampleConfig("a"))
        for junk in [".removing-x-1", "bad name", "_x"] {
            try FileManager.default.createDirectory(atPath: store.machinesDir + "/" + junk, withIntermediateDirectories: true)
        }
        #expect(store.names() == ["a", "b"])
        #expect(store.list().map(\.name) == ["a", "b"])
        #expect(Store(root: dir.sub("empty")).names() == [])
    }

    @Test func readMachineFile() throws {
        let dir = try TempDir("store")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1"))
        try store.writeMachineFile("web1", "ca.pem", "PEM\n")
        #expect(try store.readMachineFile("web1", "ca.pem") == "PEM\n")
        #expect(throws: StoreError.missingFile(name: "web1", path: "machines/web1/cert.pem")) {
            try store.readMachineFile("web1", "cert.pem")
        }
        #expect(
            StoreError.missingFile(name: "web1", path: "machines/web1/cert.pem").description
                == "machine \"web1\": machines/web1/cert.pem is missing")
    }
}
