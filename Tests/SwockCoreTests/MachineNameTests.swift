import Testing

@testable import SwockStore

@Suite struct MachineNameTests {
    @Test(arguments: ["a", "web1", "Web-1.example.com", "1abc", "a..b", "x-", String(repeating: "a", count: 63)])
    func valid(name: String) throws {
        try MachineName.validate(name)
    }

    @Test(arguments: [
        ("", "it is empty"),
        (String(repeating: "a", count: 64), "it is longer than 63 characters"),
        (".hidden", "it must start with a letter or a digit"),
        ("-flag", "it must start with a letter or a digit"),
        ("..", "it must start with a letter or a digit"),
        (".", "it must start with a letter or a digit"),
        ("a/b", "\"/\" is not allowed"),
        ("a b", "\" \" is not allowed"),
        ("a;b", "\";\" is not allowed"),
        ("a$(x)", "\"$\" is not allowed"),
        ("a`b`", "\"`\" is not allowed"),
        ("a_b", "\"_\" is not allowed"),
        ("webé", "\"é\" is not allowed"),
        ("é", "it must start with a letter or a digit"),
        ("a\nb", "\"\\u{a}\" is not allowed"),
        ("٣abc", "it must start with a letter or a digit"),
    ])
    func invalid(name: String, reason: String) {
        #expect(throws: StoreError.invalidName(name, reason: reason)) { try MachineName.validate(name) }
    }

    @Test func errorText() {
        #expect(
            StoreError.invalidName("a b", reason: "\" \" is not allowed").description
                == "invalid machine name \"a b\": \" \" is not allowed; names start with a letter or digit and use only letters, digits, '.' and '-'"
        )
    }
}
