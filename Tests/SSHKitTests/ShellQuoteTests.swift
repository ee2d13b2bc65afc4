import Testing
@testable import SSHKit

@Suite struct ShellQuoteTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("/etc/docker/daemon.json", "/etc/docker/daemon.json"),
        ("", "''"),
        ("two words", "'two words'"),
        ("it's", "'it'\\''s'"),
        ("$(reboot)", "'$(reboot)'"),
        ("a\nb", "'a\nb'"),
        ("`id`;rm -rf /", "'`id`;rm -rf /'"),
    ])
    func quotes(input: String, expected: String) {
        #expect(ShellQuote.quote(input) == expected)
    }

    @Test func joinQuotesEachWord() {
        #expect(ShellQuote.join(["echo", "a b", "c"]) == "echo 'a b' c")
    }

    @Test func targetStripsIPv6Brackets() {
        #expect(SSHTarget(host: "[::1]", port: 2222).host == "::1")
        #expect(SSHTarget(host: "10.231.1.10").port == 22)
        #expect(SSHTarget(host: "10.231.1.10").user == "root")
    }
}
