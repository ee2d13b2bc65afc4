import Foundation
import SwockClient
import SwockStore
import Testing

@testable import SwockCommands

/// `ls` builds its rows straight from the record and the status; they must be the fields
/// `machineFields` gives templates and `--format json` (what Docker Machine users script against).
@Suite struct ListRowTests {
    func config(_ name: String, driver: String = "generic") -> MachineConfig {
        MachineConfig(
            name: name, driver: driver, address: "10.231.1.7",
            ssh: SSHSettings(
                user: "admin", port: 2222, authMode: .generatedKey, keyPath: "machines/\(name)/id_ed25519",
                knownHostsPath: "machines/\(name)/known_hosts"),
            engine: EngineSettings(port: 2377), tls: TLSSettings(keyType: "ecdsa-p256"), labels: ["env": "prod"])
    }

    @Test(arguments: [
        MachineStatus(state: .running, engineVersion: "v20.10.24", error: nil),
        MachineStatus(state: .running, engineVersion: "v27.1.0", error: "server certificate expires 2027-01-01"),
        MachineStatus(state: .stopped, engineVersion: nil, error: nil),
        MachineStatus(state: .timeout, engineVersion: nil, error: "no answer within 3 s"),
        nil,
    ])
    func rowIsTheTemplateFields(status: MachineStatus?) {
        let store = Store(root: "/tmp/swock-list-row-test")
        for (c, active) in [(config("web1"), true), (config("db", driver: "none"), false)] {
            let fast = ListRow(config: c, status: status, active: active)
            // The template fields under the row's JSON keys, in the header's order.
            let fields = machineFields(config: c, store: store, status: status, active: active)
            let templated = ListRow.CodingKeys.allCases.map { fields[$0.rawValue] ?? "" }
            #expect(fast.cells == templated, "\(fast.cells) != \(templated)")
        }
    }

    @Test func cellsAreInTheHeadersOrder() {
        let row = ListRow(config: config("web1"), status: MachineStatus(state: .running, engineVersion: "v1", error: "e"), active: true)
        #expect(ListRow.header == ["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS"])
        #expect(row.cells == ["web1", "*", "generic", "Running", "tcp://10.231.1.7:2377", "v1", "e"])
    }
}
