import Foundation
import SwockSupport
import Testing

@testable import SwockClient
@testable import SwockFleet
@testable import SwockStore

@Suite struct MachineSelectorTests {
    /// Store order: sorted names, as `Store.names()` gives them.
    static let entries: [SelectedMachine] = [
        ok(sampleConfig("cache", labels: [:])),
        ok(sampleConfig("db1", labels: ["env": "prod", "role": "db"])),
        SelectedMachine(name: "old", record: .failure(.corrupt(name: "old", path: "machines/old/config.json", reason: "not valid JSON"))),
        ok(sampleConfig("web1", labels: ["env": "prod", "role": "web"])),
        ok(sampleConfig("web10", labels: ["env": "dev", "role": "web"])),
        ok(sampleConfig("web2", labels: ["env": "dev", "role": "web"])),
    ]

    static func ok(_ c: MachineConfig) -> SelectedMachine { SelectedMachine(name: c.name, record: .success(c)) }

    func select(_ patterns: [String], all: Bool = false, filters: [String] = []) throws -> [String] {
        try MachineSelector(patterns: patterns, all: all, filters: filters).select(from: Self.entries).map(\.name)
    }

    @Test(arguments: [
        (["web1"], ["web1"]),
        (["web2", "db1"], ["db1", "web2"]),  // store order, not argument order
        (["web1", "web1", "web*"], ["web1", "web10", "web2"]),  // each once
        (["web?"], ["web1", "web2"]),
        (["web*"], ["web1", "web10", "web2"]),
        (["*1"], ["db1", "web1"]),
        (["[cd]*"], ["cache", "db1"]),
        (["[!w]*"], ["cache", "db1", "old"]),
        (["web[0-9]"], ["web1", "web2"]),
        (["web1?"], ["web10"]),
        (["*"], ["cache", "db1", "old", "web1", "web10", "web2"]),
        (["old"], ["old"]),  // a broken record named outright is kept (reported per host)
    ])
    func namesAndGlobs(patterns: [String], expected: [String]) throws {
        #expect(try select(patterns) == expected)
    }

    @Test func allSelectsEveryMachineInStoreOrder() throws {
        #expect(try select([], all: true) == ["cache", "db1", "old", "web1", "web10", "web2"])
    }

    @Test(arguments: [
        ([String](), true, ["label=env=prod"], ["db1", "web1"]),
        ([], false, ["label=env=prod"], ["db1", "web1"]),  // a filter alone applies to every machine
        (["web*"], false, ["label=env=dev"], ["web10", "web2"]),
        (["web*"], false, ["label=role=db", "label=env=prod"], ["web1"]),  // one key twice: ORed
        (["*"], false, ["label=role=web", "driver=generic"], ["web1", "web10", "web2"]),
        (["web1", "db1"], false, ["label=role=db"], ["db1"]),
        ([], true, ["name=^web1"], ["web1", "web10"]),
        ([], true, ["label=nothing"], []),
        (["old", "cache"], false, ["driver=generic"], ["cache"]),  // a broken record cannot match a filter
    ])
    func filters(patterns: [String], all: Bool, filters: [String], expected: [String]) throws {
        #expect(try select(patterns, all: all, filters: filters) == expected)
    }

    @Test func unknownPlainNameIsAnError() {
        #expect(throws: StoreError.notFound("nope")) { try select(["web1", "nope"]) }
        #expect(StoreError.notFound("nope").description.hasPrefix("Docker machine \"nope\" does not exist"))
    }

    @Test func globMatchingNothingIsAnError() {
        #expect(throws: MachineSelector.Error.globMatchesNothing("api*")) {
            try select(["web*", "api*"])
        }
    }

    @Test func selectionMistakes() throws {
        #expect(
            throws: MachineSelector.Error.nothingSelected
        ) {
            try select([])
        }
        #expect(throws: MachineSelector.Error.namesAndAll) {
            try select(["web1"], all: true)
        }
        #expect(throws: StoreError.self) { try select(["bad name"]) }
        #expect(throws: MachineFilter.Error.self) { try select([], filters: ["color=red"]) }
        #expect(throws: MachineSelector.Error.emptyStore) {
            try MachineSelector(patterns: [], all: true).select(from: [])
        }
    }

    @Test func stateIsAppliedAfterSelection() throws {
        let sel = try MachineSelector(patterns: ["web*"], filters: ["state=running"])
        #expect(sel.needsState)
        let offline = try sel.select(from: Self.entries)
        #expect(offline.map(\.name) == ["web1", "web10", "web2"])
        let states: [String: MachineStatus.State] = ["web1": .running, "web10": .stopped]  // web2 unknown: counts as error
        #expect(try sel.applyState(offline, state: states).map(\.name) == ["web1"])
        #expect(throws: MachineSelector.Error.filterMatchesNothing) {
            try sel.applyState(offline, state: [:])
        }
        let plain = try MachineSelector(patterns: ["web1"])
        #expect(!plain.needsState)
        #expect(try plain.applyState(plain.select(from: Self.entries), state: [:]).map(\.name) == ["web1"])
    }

    @Test(arguments: [
        ("web*", "web", true), ("web*", "we", false), ("*", "", true), ("?", "", false), ("?", "a", true),
        ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false), ("*.example", "h.example", true),
        ("[abc]1", "b1", true), ("[abc]1", "d1", false), ("[a-c]x", "bx", true), ("[!a-c]x", "bx", false),
        ("[^a-c]x", "dx", true), ("[]]", "]", true), ("[", "[", true), ("a[b", "a[b", true), ("a[b", "ab", false),
        ("**a", "a", true), ("*a*", "banana", true), ("web1", "web10", false), ("w?b?", "web1", true),
    ])
    func globs(pattern: String, name: String, expected: Bool) {
        #expect(MachineSelector.glob(pattern, matches: name) == expected, "\(pattern) ~ \(name)")
    }

    @Test func resolveReadsTheStore() async throws {
        let dir = try TempDir("selector")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        for n in ["b2", "a1", "b1"] {
            var c = sampleConfig(n, labels: ["team": n.hasPrefix("b") ? "blue" : "amber"])
            c.ssh.knownHostsPath = "machines/\(n)/known_hosts"
            try store.reserve(c)
        }
        #expect(try await MachineSelector(patterns: ["b*", "a1"]).resolve(in: store).map(\.name) == ["a1", "b1", "b2"])
        #expect(try await MachineSelector(patterns: [], filters: ["label=team=blue"]).resolve(in: store).map(\.name) == ["b1", "b2"])
        await #expect(throws: MachineSelector.Error.filterMatchesNothing) {
            try await MachineSelector(patterns: [], filters: ["label=team=none"]).resolve(in: store)
        }
    }
}
