import Foundation
import SwockProvision
import SwockStore
import Testing

@Suite struct SSHConfigFileTests {
    func file(_ text: String, includes: [String: String] = [:]) -> SSHConfigFile {
        SSHConfigFile(
            path: "/home/u/.ssh/config", text: text, home: "/home/u", localUser: "u",
            read: { includes[$0] }, glob: { p in includes.keys.filter { fnmatch(p, $0, 0) == 0 }.sorted() })
    }

    @Test func aliasGivesEverySetting() throws {
        let f = file(
            """
            # comment
            Host web-prod
                HostName 10.231.1.5
                User admin
                Port 2222
                IdentityFile ~/.ssh/id_web
                IdentitiesOnly yes
                ProxyJump bastion
            """)
        let r = try f.resolve(host: "web-prod")
        #expect(
            r
                == .init(
                    hostName: "10.231.1.5", user: "admin", port: 2222, identityFile: "/home/u/.ssh/id_web",
                    identitiesOnly: true, proxyJump: "bastion"))
        #expect(try f.resolve(host: "web-prod2").isEmpty)
    }

    /// ssh_config(5): the first value obtained wins, so specific blocks go first and `Host *` last.
    @Test func firstValueWinsAcrossBlocks() throws {
        let f = file(
            """
            Host web*
              User first
            Host web1
              User second
              Port 23
            Host *
              Port 24
              User third
              IdentityFile ~/.ssh/one
              IdentityFile ~/.ssh/two
            """)
        let r = try f.resolve(host: "web1")
        #expect(r.user == "first" && r.port == 23 && r.identityFile == "/home/u/.ssh/one")
        #expect(try f.resolve(host: "db").user == "third")
    }

    @Test func patternsNegationAndCase() throws {
        let f = file(
            """
            Host *.lan !secret.lan
              User lanuser
            Host db? , x
              User dbuser
            """)
        #expect(try f.resolve(host: "a.LAN").user == "lanuser")
        #expect(try f.resolve(host: "secret.lan").user == nil)
        #expect(try f.resolve(host: "db1").user == "dbuser")
        #expect(try f.resolve(host: "db12").user == nil)
    }

    @Test func equalsSignsQuotesAndKeywordCase() throws {
        let f = file(
            """
            host=quoted
              HOSTNAME = 10.231.1.7
              user="a b"
              port=2200
            """)
        #expect(try f.resolve(host: "quoted") == .init(hostName: "10.231.1.7", user: "a b", port: 2200))
    }

    @Test func tokensAreExpanded() throws {
        let f = file(
            """
            Host box
              HostName %h.example.lan
              User ops
              IdentityFile %d/keys/%r@%h-%p-%n-%u%%
            """)
        let r = try f.resolve(host: "box")
        #expect(r.hostName == "box.example.lan")
        #expect(r.identityFile == "/home/u/keys/ops@box.example.lan-22-box-u%")
    }

    @Test func matchAllAndMatchHostApplyOtherMatchBlocksDoNot() throws {
        let f = file(
            """
            Match exec "true"
              User never
            Match host m1,m2
              Port 2201
            Match all
              User everyone
            """)
        let r = try f.resolve(host: "m2")
        #expect(r.port == 2201 && r.user == "everyone")
        #expect(try f.resolve(host: "m3").port == nil)
    }

    @Test func includeRelativeToDotSSHOnlyInsideAMatchingBlock() throws {
        let f = file(
            """
            Host other
              Include other.conf
            Host *
              Include conf.d/*.conf
            """,
            includes: [
                "/home/u/.ssh/other.conf": "User wrong\n",
                "/home/u/.ssh/conf.d/a.conf": "Host inc\n  HostName 10.231.1.9\n",
                "/home/u/.ssh/conf.d/b.conf": "Host inc\n  User fromb\n",
            ])
        let r = try f.resolve(host: "inc")
        #expect(r.hostName == "10.231.1.9" && r.user == "fromb")
    }

    @Test func proxyJumpNoneAndLists() throws {
        let f = file(
            """
            Host direct
              ProxyJump none
            Host *
              ProxyJump jump1,admin@jump2:2222
            Host jump1
              HostName 10.231.1.2
              User hop
              Port 2022
            """)
        #expect(try f.resolve(host: "direct").proxyJumpNone)
        let r = try f.resolve(host: "x")
        #expect(r.proxyJump == "jump1,admin@jump2:2222")
        // Each hop's own entry: jump1 via Host * also has a ProxyJump, which ssh would not follow for a hop.
        let hops = try f.resolveHops(try JumpHost.parseList(r.proxyJump!))
        #expect(hops == [JumpHost(user: "hop", host: "10.231.1.2", port: 2022), JumpHost(user: "admin", host: "jump2", port: 2222)])
    }

    @Test func badValuesNameFileAndLine() {
        let e = #expect(throws: SSHConfigFile.Invalid.self) { try file("Host a\n  Port http\n").resolve(host: "a") }
        #expect(
            e?.description
                == "ssh config /home/u/.ssh/config line 2: Port \"http\" is not a port number (1-65535)"
        )
        #expect(throws: SSHConfigFile.Invalid.self) { try file("Host a\n  IdentitiesOnly maybe\n").resolve(host: "a") }
        // A bad line in a block for another host is not read (as ssh).
        #expect(throws: Never.self) { try file("Host b\n  Port http\n").resolve(host: "a") }
    }
}
