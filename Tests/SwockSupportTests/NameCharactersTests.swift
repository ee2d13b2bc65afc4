import Testing

@testable import SwockSupport

@Suite struct NameCharactersTests {
    @Test func hostNamesAndAddresses() {
        for ok in ["10.231.1.12", "fe80::1", "db-1.example.com", "host_a", "A"] {
            #expect(NameCharacters.host.accepts(ok), "\(ok)")
        }
        // The regular expression it replaces let a trailing newline through (ICU's `$`).
        for bad in ["", "10.231.1.12\n", "a b", "host;rm", "hóst", "a/b", "x@y"] {
            #expect(!NameCharacters.host.accepts(bad), "\(bad)")
        }
    }

    @Test func onlyTheGivenPunctuation() {
        let user = NameCharacters(lettersDigitsAnd: "._-")
        #expect(user.accepts("deploy.bot-1_x"))
        #expect(!user.accepts("a:b"))
        #expect(NameCharacters(lettersDigitsAnd: "").allows(UInt8(ascii: "z")))
        #expect(!NameCharacters(lettersDigitsAnd: "").allows(UInt8(ascii: "-")))
    }
}
