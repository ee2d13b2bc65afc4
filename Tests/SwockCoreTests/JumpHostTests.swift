import Foundation
import SSHKit
import Testing

@testable import SwockProvision
@testable import SwockStore

struct JumpHostTests {
    @Test func parsesHopsLikeOpenSSH() throws {
        let hops = try JumpHost.parseList("tester@10.231.1.10,10.231.201.5:2222, admin@[fd00::7]:22,bastion.example")
        #expect(
            hops == [
                JumpHost(user: "tester", host: "10.231.1.10", port: 22),
                JumpHost(user: nil, host: "10.231.201.5", port: 2222),
                JumpHost(user: "admin", host: "fd00::7", port: 22),
                JumpHost(user: nil, host: "bastion.example", port: 22),
            ])
        #expect(hops.map(\.description) == ["tester@10.231.1.10", "10.231.201.5:2222", "admin@[fd00::7]", "bastion.example"])
        #expect(try JumpHost.parse("fd00::9") == JumpHost(host: "fd00::9"))
        // The machine's user is the default, as the record keeps it.
        #expect(hops[1].target(defaultUser: "ops") == SSHTarget(host: "10.231.201.5", port: 2222, user: "ops"))
    }

    @Test func refusesWhatIsNotAHop() {
        for bad in ["", "a,,b", "@host", "user@", "host:0", "host:70000", "host:ssh", "[fd00::1", "[fd00::1]x", "ho st", "u;x@host"] {
            #expect(throws: JumpHost.ParseError.self, "\(bad)") { try JumpHost.parseList(bad) }
        }
        do {
            _ = try JumpHost.parseList("tester@b1:99999")
        } catch {
            #expect(
                error.description == "jump host \"tester@b1:99999\": port \"99999\" is not a number in 1-65535; give [user@]host[:port]")
        }
    }

    @Test func aRecordBehindJumpHostsIsReachedAtItsForward() throws {
        var c = MachineConfig(
            name: "db1", address: "10.231.201.5",
            ssh: SSHSettings(user: "tester", port: 22, authMode: .key, keyPath: "/k", knownHostsPath: "machines/db1/known_hosts"),
            engine: EngineSettings(), tls: TLSSettings(keyType: "ecdsa"))
        #expect(!c.isBehindJumpHosts)
        #expect(c.clientURL == "tcp://10.231.201.5:2376")
        c.ssh.proxyJump = [JumpHost(host: "10.231.1.10")]
        c.engine.forwardPort = 40123
        #expect(c.isBehindJumpHosts)
        #expect(c.clientURL == "tcp://127.0.0.1:40123")
        #expect(c.engineURL == "tcp://10.231.201.5:2376")
        let store = Store(root: "/tmp/swock-jump-unit")
        #expect(store.dockerEnvironment(c).first { $0.0 == "DOCKER_HOST" }?.1 == "tcp://127.0.0.1:40123")
        // Round trip, and records written before jump hosts existed still load.
        let back = try Store.decode(Store.encode(c), name: "db1", path: "x")
        #expect(back.ssh == c.ssh && back.engine == c.engine)
        var old = try JSONSerialization.jsonObject(with: Store.encode(c)) as! [String: Any]
        var ssh = old["ssh"] as! [String: Any]
        ssh.removeValue(forKey: "proxyJump")
        old["ssh"] = ssh
        let legacy = try Store.decode(JSONSerialization.data(withJSONObject: old), name: "db1", path: "x")
        #expect(!legacy.isBehindJumpHosts)
    }

    @Test func fleetFilesTakeJumpHostsSudoPasswordsAndBundles() throws {
        let file = try FleetFile.parse(
            """
            defaults: {user: tester, proxy-jump: "tester@10.231.1.10"}
            machines:
              - {name: a, address: 10.231.201.5, sudo-password-env: A_SUDO_PASSWORD, engine: {install: "bundle:/srv/debs"}}
              - {name: b, address: 10.231.1.20, proxy-jump: "10.231.1.11:2222,10.231.202.1"}
            """, source: "t.yml")
        let reqs = try file.requests(environment: ["A_SUDO_PASSWORD": "s3cret"])
        #expect(reqs[0].proxyJump == [JumpHost(user: "tester", host: "10.231.1.10")])
        #expect(reqs[0].sudoPassword == "s3cret")
        #expect(reqs[0].engine.installBundle == "/srv/debs")
        #expect(reqs[1].proxyJump.map(\.description) == ["10.231.1.11:2222", "10.231.202.1"])
        #expect(reqs[1].sudoPassword == nil)
        #expect(
            throws: FleetFile.Invalid(
                description: "machine \"a\": sudo-password-env A_SUDO_PASSWORD is not set (or empty); export it before create -f")
        ) {
            try file.requests(environment: [:])
        }
        let bad = try FleetFile.parse("machines: [{name: c, address: 10.231.1.9, proxy-jump: 'x:0'}]", source: "t.yml")
        #expect(throws: FleetFile.Invalid.self) { try bad.requests(environment: [:]) }
    }

    /// A shared fleet file cannot send any variable of the environment to a host as the sudo
    /// password: only names that start with SWOCK_ or end in _SUDO_PASSWORD.
    @Test func fleetFilesNameOnlySudoPasswordVariables() throws {
        for ok in ["SWOCK_SUDO_PW", "SWOCK_x1", "APP_SUDO_PASSWORD", "db_1_SUDO_PASSWORD"] {
            #expect(FleetFile.isAllowedSecretVariable(ok), "\(ok)")
            let file = try FleetFile.parse("machines: [{name: a, address: 10.231.1.9, sudo-password-env: \(ok)}]", source: "t.yml")
            #expect(try file.requests(environment: [ok: "pw"])[0].sudoPassword == "pw")
        }
        for bad in [
            "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "A_PW", "SWOCK_", "_SUDO_PASSWORD", "SUDO_PASSWORD", "X_SUDO_PASSWORD_2",
            "SWOCK_A-B", "swock_x", "HOME", "",
        ] {
            #expect(!FleetFile.isAllowedSecretVariable(bad), "\(bad)")
        }
        let rule = FleetFile.secretVariableRule
        #expect(
            throws: FleetFile.Invalid(
                description: "fleet file t.yml: machine \"a\": sudo-password-env AWS_SECRET_ACCESS_KEY is not allowed: \(rule)")
        ) {
            try FleetFile.parse("machines: [{name: a, address: 10.231.1.9, sudo-password-env: AWS_SECRET_ACCESS_KEY}]", source: "t.yml")
        }
        #expect(
            throws: FleetFile.Invalid(description: "fleet file t.yml: defaults: sudo-password-env GITHUB_TOKEN is not allowed: \(rule)")
        ) {
            try FleetFile.parse(
                """
                defaults: {sudo-password-env: GITHUB_TOKEN}
                machines: [{name: a, address: 10.231.1.9}]
                """, source: "t.yml")
        }
    }
}
