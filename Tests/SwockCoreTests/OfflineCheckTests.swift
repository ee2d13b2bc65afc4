import Foundation
import Testing

@testable import SwockClient
@testable import SwockStore

@Suite struct OfflineCheckTests {
    func store(with files: [String], _ dir: TempDir) throws -> Store {
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("web1"))
        for f in files { try store.writeMachineFile("web1", f, "x") }
        return store
    }

    @Test func healthyHasNoProblems() throws {
        let dir = try TempDir("offline")
        defer { dir.remove() }
        let s = try store(with: ["ca.pem", "cert.pem", "key.pem"], dir)
        #expect(OfflineCheck.problems(sampleConfig("web1"), store: s, now: Date(timeIntervalSince1970: 1_750_000_000)) == [])
        // Address matching is case-insensitive (host names).
        var c = sampleConfig("web1", address: "WEB.example")
        c.tls.serverSANs = ["web.example"]
        #expect(OfflineCheck.problems(c, store: s, now: Date(timeIntervalSince1970: 1_750_000_000)) == [])
        // No SANs recorded: nothing to check against.
        c.tls.serverSANs = []
        #expect(OfflineCheck.problems(c, store: s, now: Date(timeIntervalSince1970: 1_750_000_000)) == [])
    }

    @Test func everyProblemInOrder() throws {
        let dir = try TempDir("offline")
        defer { dir.remove() }
        let s = try store(with: ["cert.pem"], dir)
        var c = sampleConfig("web1", address: "10.0.0.9")
        c.tls.serverSANs = ["10.0.0.5"]
        c.provisioning.phase = .failed
        c.provisioning.lastError = "engine: dockerd did not start"
        let problems = OfflineCheck.problems(c, store: s, now: Date(timeIntervalSince1970: 1_900_000_000))
        #expect(
            problems.map(\.description) == [
                "machine \"web1\" is not fully provisioned (engine: dockerd did not start)",
                "machines/web1/ca.pem is missing",
                "machines/web1/key.pem is missing",
                "the server certificate of \"web1\" expired on 2027-01-15",
                "the server certificate of \"web1\" does not cover 10.0.0.9",
            ])
    }

    @Test func creatingPhaseWithoutErrorNamesThePhase() throws {
        let dir = try TempDir("offline")
        defer { dir.remove() }
        let s = try store(with: ["ca.pem", "cert.pem", "key.pem"], dir)
        var c = sampleConfig("web1")
        c.provisioning.phase = .creating
        c.provisioning.lastError = nil
        #expect(
            OfflineCheck.problems(c, store: s, now: Date(timeIntervalSince1970: 1_750_000_000))
                == [.notProvisioned(machine: "web1", reason: "creating")])
    }
}
