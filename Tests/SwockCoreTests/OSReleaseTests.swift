import Testing

@testable import SwockRemote

@Suite struct OSReleaseTests {
    @Test func parsesQuotedUnquotedCommentsAndBlankLines() throws {
        let text = """
            # a comment with ID=wrong
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME='Debian GNU/Linux'

              VERSION_ID="12"
            ID=Debian
            ID_LIKE="Linux  Other"
            #ID=commented
            HOME_URL="https://www.debian.org/"
            """
        let r = try #require(OSRelease(parsing: text))
        #expect(r.id == "debian")
        #expect(r.idLike == ["linux", "other"])
        #expect(r.versionID == "12")
        #expect(r.prettyName == "Debian GNU/Linux 12 (bookworm)")
    }

    @Test(arguments: [
        (#"PRETTY_NAME="say \"hi\"""#, #"say "hi""#),
        (#"PRETTY_NAME="cost \$5""#, "cost $5"),
        (#"PRETTY_NAME="a \`b\`""#, "a `b`"),
        (#"PRETTY_NAME="C:\\dir""#, #"C:\dir"#),
        (#"PRETTY_NAME="end\\""#, #"end\"#),
        (#"PRETTY_NAME="q\\\"x""#, #"q\"x"#),
        (#"PRETTY_NAME='single \"kept\" $x'"#, #"single \"kept\" $x"#),
        ("PRETTY_NAME=plain", "plain"),
        ("PRETTY_NAME=\"\"", ""),
        ("PRETTY_NAME=a=b", "a=b"),
    ])
    func escapes(line: String, expected: String) throws {
        let r = try #require(OSRelease(parsing: "ID=x\n" + line + "\n"))
        #expect(r.prettyName == expected)
    }

    @Test(arguments: ["", "NAME=Foo\nVERSION_ID=1", "ID=", "ID=\"\"", "# ID=debian", "id=debian"])
    func missingIDIsNil(text: String) {
        #expect(OSRelease(parsing: text) == nil)
    }

    @Test func crlfLinesParse() throws {
        let r = try #require(OSRelease(parsing: "ID=alpine\r\nVERSION_ID=3.19.1\r\n"))
        #expect(r.id == "alpine")
        #expect(r.versionID == "3.19.1")
    }
}

@Suite struct OSFamilyTests {
    @Test(
        arguments: [
            ("debian", "", OSFamily.debian),
            ("ubuntu", "debian", .debian),
            ("linuxmint", "ubuntu debian", .debian),
            ("neon", "ubuntu debian", .debian),
            ("pop", "ubuntu debian", .debian),
            ("raspbian", "debian", .debian),
            ("rocky", "rhel centos fedora", .rhel),
            ("almalinux", "rhel centos fedora", .rhel),
            ("centos", "rhel fedora", .rhel),
            ("fedora", "", .rhel),
            ("rhel", "fedora", .rhel),
            ("ol", "fedora", .rhel),
            ("amzn", "centos rhel fedora", .rhel),
            ("amzn", "", .rhel),
            ("alpine", "", .alpine),
            ("opensuse-leap", "suse opensuse", .suse),
            ("opensuse-tumbleweed", "opensuse suse", .suse),
            ("sles", "suse", .suse),
            ("arch", "", .arch),
            ("manjaro", "arch", .arch),
            ("endeavouros", "arch", .arch),
            ("someclone", "unknownbase suse", .suse),
        ] as [(String, String, OSFamily)])
    func detects(id: String, like: String, family: OSFamily) throws {
        let text = "ID=\(id)\n" + (like.isEmpty ? "" : "ID_LIKE=\"\(like)\"\n")
        let r = try #require(OSRelease(parsing: text))
        #expect(OSFamily.detect(r) == family)
    }

    @Test(arguments: [("plan9", ""), ("plan9", "inferno"), ("nixos", ""), ("gentoo", "")])
    func unknown(id: String, like: String) {
        #expect(OSFamily.detect(OSRelease(id: id, idLike: like.split(separator: " ").map(String.init))) == nil)
    }

    @Test func idWinsOverIDLike() {
        // ID is checked before ID_LIKE: an alpine that claims to be "like debian" stays alpine.
        #expect(OSFamily.detect(OSRelease(id: "alpine", idLike: ["debian"])) == .alpine)
    }
}
