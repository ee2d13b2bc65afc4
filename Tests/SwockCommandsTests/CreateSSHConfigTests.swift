import Foundation
import Testing

@testable import SwockCommands

/// create resolves --generic-ip-address in ~/.ssh/config (or --ssh-config FILE); flags and
/// GENERIC_* win; none switches it off; the request carries the resolved values.
@Suite struct CreateSSHConfigTests {
    let home: String

    init() throws {
        home = NSTemporaryDirectory() + "sshcfg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
        try """
        Host web-alias
          HostName 10.231.1.5
          User admin
          Port 2222
          IdentityFile ~/.ssh/id_alias
          ProxyJump hop
        Host hop
          HostName 10.231.1.2
          Port 2022
        Host only-key
          HostName 10.231.1.6
          IdentityFile /keys/k
          IdentitiesOnly yes
        """.write(toFile: home + "/.ssh/config", atomically: true, encoding: .utf8)
    }

    func create(_ args: [String]) throws -> Create { try Create.parse(args + ["m1"]) }
    func env(_ extra: [String: String] = [:]) -> [String: String] { ["HOME": home, "USER": "u"].merging(extra) { $1 } }

    @Test func theAliasIsResolvedFromTheDefaultFile() throws {
        let r = try create(["--generic-ip-address", "web-alias"]).makeRequest(environment: env())
        #expect(r.address == "10.231.1.5" && r.sshUser == "admin" && r.sshPort == 2222)
        #expect(r.sshKeyPath == home + "/.ssh/id_alias" && r.identitiesOnly == false)
        #expect(r.proxyJump.map(\.description) == ["10.231.1.2:2022"])
        #expect(r.sshConfigHost == "web-alias")
        let k = try create(["--generic-ip-address", "only-key"]).makeRequest(environment: env())
        #expect(k.sshKeyPath == "/keys/k" && k.identitiesOnly == true && k.proxyJump.isEmpty)
    }

    @Test func flagsAndVariablesWin() throws {
        let r = try create([
            "--generic-ip-address", "web-alias", "--generic-ssh-user", "me", "--generic-ssh-key", "/k",
            "--generic-ssh-proxy-jump", "j:23",
        ]).makeRequest(environment: env(["GENERIC_SSH_PORT": "2200"]))
        #expect(r.address == "10.231.1.5" && r.sshUser == "me" && r.sshPort == 2200 && r.sshKeyPath == "/k")
        #expect(r.identitiesOnly == nil && r.proxyJump.map(\.description) == ["j:23"])
    }

    @Test func noneAndOtherHostsLeaveTheRequestAsBefore() throws {
        for args in [["--generic-ip-address", "web-alias", "--ssh-config", "none"], ["--generic-ip-address", "10.231.1.9"]] {
            let r = try create(args).makeRequest(environment: env())
            #expect(r.address == args[1] && r.sshUser == "root" && r.sshPort == 22 && r.sshKeyPath == nil)
            #expect(r.proxyJump.isEmpty && r.sshConfigHost == nil)
        }
        // No default file: nothing read, no error.
        let r = try Create.parse(["--generic-ip-address", "web-alias", "m1"]).makeRequest(environment: ["HOME": home + "/nowhere"])
        #expect(r.address == "web-alias")
    }

    @Test func anExplicitFileMustExistAndBeValid() throws {
        let other = home + "/other.conf"
        try "Host web-alias\n  User fromother\n".write(toFile: other, atomically: true, encoding: .utf8)
        #expect(
            try create(["--generic-ip-address", "web-alias", "--ssh-config", other]).makeRequest(environment: env()).sshUser == "fromother")
        let missing = #expect(throws: UserFacingError.self) {
            try create(["--generic-ip-address", "x", "--ssh-config", home + "/no"]).makeRequest(environment: env())
        }
        #expect(missing?.description == "--ssh-config \(home)/no: no such file; give a readable file or --ssh-config none")
        try "Host *\n  Port 0\n".write(toFile: other, atomically: true, encoding: .utf8)
        let bad = #expect(throws: UserFacingError.self) {
            try create(["--generic-ip-address", "x", "--ssh-config", other]).makeRequest(environment: env())
        }
        #expect(bad?.description.hasPrefix("ssh config \(other) line 2: Port \"0\"") == true)
    }
}
