import Foundation
import Testing

@testable import SwockStore

/// Broken records show up as errors in `list()` while the good ones still load.
@Suite struct StoreListTests {
    static func json(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: Store.encode(sampleConfig(name))) as! [String: Any]
        change(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func corruptRecordsAreReportedOneByOne() throws {
        let dir = try TempDir("list")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("good1"))
        try store.reserve(sampleConfig("good2"))
        let good = try Store.encode(sampleConfig("trunc"))
        let broken: [(String, Data?)] = [
            ("empty", Data()),
            ("trunc", good.prefix(good.count / 2)),
            ("wrongtype", try Self.json("wrongtype") { $0["address"] = 5 }),
            (
                "nestedtype",
                try Self.json("nestedtype") { o in
                    var ssh = o["ssh"] as! [String: Any]; ssh["port"] = "22"; o["ssh"] = ssh
                }
            ),
            ("missingfield", try Self.json("missingfield") { $0.removeValue(forKey: "driver") }),
            (
                "nestedmissing",
                try Self.json("nestedmissing") { o in
                    var ssh = o["ssh"] as! [String: Any]; ssh.removeValue(forKey: "user"); o["ssh"] = ssh
                }
            ),
            ("noversion", try Self.json("noversion") { $0.removeValue(forKey: "configVersion") }),
            (
                "future",
                try Self.json("future") {
                    $0["configVersion"] = 99; $0["somethingNew"] = true
                }
            ),
            ("noconfig", nil),
        ]
        for (name, data) in broken {
            try FileManager.default.createDirectory(atPath: store.machineDir(name), withIntermediateDirectories: true)
            if let data { try data.write(to: URL(fileURLWithPath: store.configPath(name))) }
        }
        // A record whose config.json was lost keeps its other files; a directory with nothing
        // in it yet is a create in progress, and is not listed.
        try Data("pem".utf8).write(to: URL(fileURLWithPath: store.machineDir("noconfig") + "/ca.pem"))
        try FileManager.default.createDirectory(atPath: store.machineDir("claimed"), withIntermediateDirectories: true)
        let expected: [String: StoreError] = [
            "empty": .corrupt(name: "empty", path: "machines/empty/config.json", reason: "the file is empty"),
            "trunc": .corrupt(name: "trunc", path: "machines/trunc/config.json", reason: "not valid JSON"),
            "wrongtype": .corrupt(
                name: "wrongtype", path: "machines/wrongtype/config.json", reason: "field \"address\" has the wrong type"),
            "nestedtype": .corrupt(
                name: "nestedtype", path: "machines/nestedtype/config.json", reason: "field \"ssh.port\" has the wrong type"),
            "missingfield": .corrupt(
                name: "missingfield", path: "machines/missingfield/config.json", reason: "field \"driver\" is missing"),
            "nestedmissing": .corrupt(
                name: "nestedmissing", path: "machines/nestedmissing/config.json", reason: "field \"ssh.user\" is missing"),
            "noversion": .corrupt(name: "noversion", path: "machines/noversion/config.json", reason: "no configVersion field"),
            "future": .unsupportedVersion(name: "future", found: 99, supported: 1),
            "noconfig": .corrupt(name: "noconfig", path: "machines/noconfig/config.json", reason: "config.json is missing"),
        ]

        let list = store.list()
        #expect(
            list.map(\.name) == [
                "empty", "future", "good1", "good2", "missingfield", "nestedmissing", "nestedtype", "noconfig", "noversion", "trunc",
                "wrongtype",
            ])
        for (name, result) in list {
            switch result {
            case .success(let c):
                #expect(name.hasPrefix("good"), "\(name) should not load")
                #expect(c.name == name)
            case .failure(let e):
                #expect(e == expected[name], "\(name): \(e)")
                // load() says the same.
                #expect(throws: e) { try store.load(name) }
            }
        }
    }

    @Test func errorTexts() {
        #expect(
            StoreError.corrupt(name: "w", path: "machines/w/config.json", reason: "the file is empty").description
                == "machine \"w\": machines/w/config.json is unreadable (the file is empty)")
        #expect(
            StoreError.unsupportedVersion(name: "w", found: 99, supported: 1).description
                == "machine \"w\": config.json has format version 99, this swock-machine reads up to 1; upgrade swock-machine")
        #expect(StoreError.io(path: "/x", reason: "Permission denied").description == "store: /x: Permission denied")
        #expect(StoreError.crypto("bad CA").description == "store: bad CA")
    }

    @Test func brokenRecordCanBeRemoved() throws {
        let dir = try TempDir("list")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try FileManager.default.createDirectory(atPath: store.machineDir("junk"), withIntermediateDirectories: true)
        try Data("{".utf8).write(to: URL(fileURLWithPath: store.configPath("junk")))
        try store.remove("junk")
        #expect(store.list().isEmpty)
    }
}
