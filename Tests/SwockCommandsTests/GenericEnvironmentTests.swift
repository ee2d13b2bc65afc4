import Testing

@testable import SwockCommands

@Suite struct GenericEnvironmentTests {
    @Test func readsDockerMachinesVariables() throws {
        let g = try GenericEnvironment([
            "GENERIC_IP_ADDRESS": "10.231.1.5", "GENERIC_SSH_USER": "admin", "GENERIC_SSH_KEY": "/k",
            "GENERIC_SSH_PORT": "2222", "GENERIC_ENGINE_PORT": "2377", "OTHER": "x",
        ])
        #expect(try g == GenericEnvironment([:]).with(address: "10.231.1.5", user: "admin", key: "/k", port: 2222, engine: 2377))
    }

    @Test func emptyIsUnset() throws {
        let g = try GenericEnvironment(["GENERIC_IP_ADDRESS": "", "GENERIC_SSH_PORT": ""])
        #expect(g.address == nil && g.sshPort == nil)
    }

    @Test(arguments: ["GENERIC_SSH_PORT", "GENERIC_ENGINE_PORT"])
    func badPortNamesTheVariable(key: String) {
        for v in ["abc", "0", "70000", "22 "] {
            let e = #expect(throws: UsageError.self) { try GenericEnvironment([key: v]) }
            #expect(e?.description.hasPrefix("\(key)=\"\(v)\" is not a port number") == true, "\(String(describing: e))")
        }
    }

    /// Flags win over the variables.
    @Test func flagsWin() throws {
        let create = try Create.parse(["--generic-ip-address", "10.231.1.9", "--generic-ssh-port", "23", "web1"])
        let r = try create.makeRequest(environment: [
            "GENERIC_IP_ADDRESS": "10.231.1.5", "GENERIC_SSH_PORT": "2222", "GENERIC_SSH_USER": "admin",
        ])
        #expect(r.address == "10.231.1.9" && r.sshPort == 23 && r.sshUser == "admin")
    }
}

extension GenericEnvironment {
    func with(address: String, user: String, key: String, port: Int, engine: Int) -> GenericEnvironment {
        var g = self
        g.address = address; g.sshUser = user; g.sshKey = key; g.sshPort = port; g.enginePort = engine
        return g
    }
}
