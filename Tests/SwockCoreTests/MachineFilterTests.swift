import Testing

@testable import SwockClient
@testable import SwockStore

@Suite struct MachineFilterTests {
    static let machines: [MachineConfig] = [
        {
            var c = sampleConfig("web1", labels: ["env": "prod", "team": "a"]); c.driver = "generic"; return c
        }(),
        {
            var c = sampleConfig("web2", labels: ["env": "dev"]); c.driver = "generic"; return c
        }(),
        {
            var c = sampleConfig("db1", labels: ["env": "prod", "backup": ""]); c.driver = "none"; return c
        }(),
        {
            var c = sampleConfig("cache", labels: [:]); c.driver = "virtualbox"; return c
        }(),
    ]
    static let states: [String: MachineStatus.State] = ["web1": .running, "web2": .stopped, "db1": .running, "cache": .error]

    func names(_ specs: [String], withState: Bool = true) throws -> [String] {
        let f = try MachineFilter(specs)
        return Self.machines.filter { f.matches($0, state: withState ? Self.states[$0.name] : nil) }.map(\.name)
    }

    @Test(arguments: [
        ([String](), ["web1", "web2", "db1", "cache"]),
        (["name=web"], ["web1", "web2"]),
        (["name=^web1$"], ["web1"]),
        (["name=1$"], ["web1", "db1"]),
        (["name=^web1$", "name=^cache$"], ["web1", "cache"]),
        (["name=web", "label=env=prod"], ["web1"]),
        (["label=env=prod"], ["web1", "db1"]),
        (["label=env=prod", "label=env=dev"], ["web1", "web2", "db1"]),
        (["label=team"], ["web1"]),
        (["label=backup"], ["db1"]),
        (["label=backup="], ["db1"]),
        (["label=env=pro"], []),
        (["driver=generic"], ["web1", "web2"]),
        (["driver=GENERIC", "driver=none"], ["web1", "web2", "db1"]),
        (["state=running"], ["web1", "db1"]),
        (["state=Stopped", "state=error"], ["web2", "cache"]),
        (["state=running", "driver=generic"], ["web1"]),
        (["NAME=db"], ["db1"]),
        (["label=env=prod", "driver=none", "state=running", "name=d"], ["db1"]),
    ])
    func matches(specs: [String], expected: [String]) throws {
        #expect(try names(specs) == expected)
    }

    @Test func nilStateIgnoresTheStateTerm() throws {
        #expect(try names(["state=running"], withState: false) == ["web1", "web2", "db1", "cache"])
        #expect(try names(["state=running", "name=web"], withState: false) == ["web1", "web2"])
        #expect(try MachineFilter(["state=running"]).needsState)
        #expect(try !MachineFilter(["name=x", "label=a"]).needsState)
        #expect(try MachineFilter([]).isEmpty)
        #expect(try !MachineFilter(["driver=x"]).isEmpty)
    }

    @Test(arguments: [
        ("color=red", "filter \"color=red\": expected KEY=VALUE with KEY one of name, state, label, driver"),
        ("name", "filter \"name\": expected KEY=VALUE with KEY one of name, state, label, driver"),
        ("=x", "filter \"=x\": expected KEY=VALUE with KEY one of name, state, label, driver"),
        ("name=[", "filter name=[: not a valid regular expression"),
        ("name=(a", "filter name=(a: not a valid regular expression"),
    ])
    func badSpecs(spec: String, message: String) {
        let e = #expect(throws: MachineFilter.Error.self) { try MachineFilter([spec]) }
        #expect(e?.description == message)
    }
}
