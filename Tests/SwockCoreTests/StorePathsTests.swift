import Foundation
import Testing

@testable import SwockClient
@testable import SwockStore

@Suite struct StorePathsTests {
    @Test(arguments: [
        ("machines/web1/id_ed25519", "/s t/machines/web1/id_ed25519"),
        ("/home/u/.ssh/id_ed25519", "/home/u/.ssh/id_ed25519"),
        ("known_hosts", "/s t/known_hosts"),
    ])
    func resolve(stored: String, absolute: String) {
        #expect(Store(root: "/s t/").resolve(stored) == absolute)
    }

    @Test(arguments: [
        ("/s t/machines/web1/key.pem", "machines/web1/key.pem"),
        ("/s t", "/s t"),
        ("/s tx/other", "/s tx/other"),
        ("/home/u/.ssh/id_rsa", "/home/u/.ssh/id_rsa"),
    ])
    func relative(absolute: String, stored: String) {
        let store = Store(root: "/s t/./")
        #expect(store.relative(absolute) == stored)
        #expect(store.resolve(store.relative(absolute)) == absolute)
    }

    @Test func rootIsStandardized() {
        #expect(Store(root: "/a/b/../c/").root == "/a/c")
        #expect(Store(root: "/a b/c").configPath("w") == "/a b/c/machines/w/config.json")
    }

    @Test func resolveRoot() {
        #expect(Store.resolveRoot(flag: "/x y", environment: ["SWOCK_MACHINE_STORAGE_PATH": "/e", "HOME": "/h"]) == "/x y")
        #expect(Store.resolveRoot(flag: "", environment: ["SWOCK_MACHINE_STORAGE_PATH": "/e", "HOME": "/h"]) == "/e")
        #expect(Store.resolveRoot(flag: nil, environment: ["SWOCK_MACHINE_STORAGE_PATH": "", "HOME": "/h"]) == "/h/.swock/machine")
        #expect(Store.resolveRoot(flag: nil, environment: ["HOME": "/h"]) == "/h/.swock/machine")
        let tilde = Store.resolveRoot(flag: "~/st", environment: [:])
        #expect(tilde.hasPrefix("/") && tilde.hasSuffix("/st"))
    }

    /// A store copied elsewhere still works: config.json holds no absolute store paths.
    @Test func copiedStoreLoadsWithItsOwnPaths() throws {
        let dir = try TempDir("portable")
        defer { dir.remove() }
        let store = Store(root: dir.sub("original store"))
        var c = sampleConfig("web1")
        c.ssh.keyPath = store.relative(store.machineDir("web1") + "/id_ed25519")
        c.ssh.knownHostsPath = store.relative(store.machineDir("web1") + "/known_hosts")
        try store.reserve(c)
        try store.writeMachineFile("web1", "id_ed25519", "KEY")
        try store.writeMachineFile("web1", "known_hosts", "HOSTS")
        let json = try String(contentsOfFile: store.configPath("web1"), encoding: .utf8)
        #expect(!json.contains(store.root))
        #expect(json.contains("\"keyPath\" : \"machines/web1/id_ed25519\""))

        let moved = dir.sub("moved elsewhere/store")
        try FileManager.default.createDirectory(atPath: dir.sub("moved elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.root, toPath: moved)
        try FileManager.default.removeItem(atPath: store.root)
        let other = Store(root: moved)
        let loaded = try other.load("web1")
        let key = other.resolve(try #require(loaded.ssh.keyPath))
        #expect(key == moved + "/machines/web1/id_ed25519")
        #expect(try String(contentsOfFile: key, encoding: .utf8) == "KEY")
        #expect(try String(contentsOfFile: other.resolve(loaded.ssh.knownHostsPath), encoding: .utf8) == "HOSTS")
        #expect(machineFields(config: loaded, store: other)["SSHKeyPath"] == key)
    }
}
