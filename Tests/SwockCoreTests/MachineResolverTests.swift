import Foundation
import Testing

@testable import SwockClient
@testable import SwockStore

@Suite struct MachineResolverTests {
    @Test func namedActiveDefaultNone() throws {
        let dir = try TempDir("resolver")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let r = MachineResolver(store: store)

        #expect(throws: StoreError.noActiveMachine) { try r.resolveName(nil) }
        #expect(
            StoreError.noActiveMachine.description
                == "no machine given, no active machine and no machine named \"default\"")
        // A name is taken as given (load reports a missing one).
        #expect(try r.resolveName("web1") == "web1")
        #expect(throws: StoreError.notFound("web1")) { try r.resolve("web1") }

        try store.reserve(sampleConfig("default"))
        #expect(try r.resolveName(nil) == "default")
        try store.reserve(sampleConfig("web1", address: "10.0.0.7"))
        try store.setActiveMachine("web1")
        #expect(try r.resolveName(nil) == "web1", "the active machine wins over default")
        #expect(try r.resolve(nil).address == "10.0.0.7")
        #expect(try r.resolveName("default") == "default")

        // An active machine that was removed behind our back falls back to default, then errors.
        try FileManager.default.removeItem(atPath: store.machineDir("web1"))
        #expect(try r.resolveName(nil) == "default")
        try store.remove("default")
        #expect(throws: StoreError.noActiveMachine) { try r.resolveName(nil) }
    }

    @Test func machineMatchingDockerHost() throws {
        let dir = try TempDir("resolver")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1", address: "10.0.0.5"))
        var v6 = sampleConfig("v6", address: "fd00::5")
        v6.engine.port = 2377
        try store.reserve(v6)
        try FileManager.default.createDirectory(atPath: store.machineDir("broken"), withIntermediateDirectories: true)
        let r = MachineResolver(store: store)
        #expect(r.machineMatching(dockerHost: "tcp://10.0.0.5:2376") == "web1")
        #expect(r.machineMatching(dockerHost: "tcp://[fd00::5]:2377") == "v6")
        #expect(r.machineMatching(dockerHost: "tcp://10.0.0.5:2377") == nil)
        #expect(r.machineMatching(dockerHost: "unix:///var/run/docker.sock") == nil)
        #expect(r.machineMatching(dockerHost: "") == nil)
    }

    @Test func engineURL() {
        #expect(sampleConfig("a", address: "10.0.0.5").engineURL == "tcp://10.0.0.5:2376")
        #expect(sampleConfig("a", address: "::1").engineURL == "tcp://[::1]:2376")
        #expect(sampleConfig("a", address: "host.example").engineURL == "tcp://host.example:2376")
    }
}
