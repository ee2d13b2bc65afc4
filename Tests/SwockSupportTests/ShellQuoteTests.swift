import Testing

@testable import SwockSupport

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
}
