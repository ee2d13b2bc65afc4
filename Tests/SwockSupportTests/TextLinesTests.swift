import SwockSupport
import Testing

struct TextLinesTests {
    @Test func splitsAtEveryKindOfLineBreak() {
        // dpkg's progress ends in "\r", then our own message follows after "\r\n".
        let text = "(Reading database ... 95%\r\nError: create m failed\nnext\rlast"
        #expect(text.textLines().map(String.init) == ["(Reading database ... 95%", "Error: create m failed", "next", "last"])
    }

    @Test func emptyLinesOnlyWhenAsked() {
        #expect("a\n\nb\n".textLines().map(String.init) == ["a", "b"])
        #expect("a\n\nb".textLines(keepingEmpty: true).map(String.init) == ["a", "", "b"])
    }

    @Test func plainSplitMissesTheCRLFThatThisCatches() {
        // The bug this type exists for: "\r\n" is one Character, never equal to "\n".
        #expect("x\r\ny".split(separator: "\n").count == 1)
        #expect("x\r\ny".textLines().count == 2)
    }
}
