import Foundation
import Testing

@testable import SwockRuntime

@Suite struct LinePrefixerTests {
    func text(_ lines: [Data]) -> [String] { lines.map { String(decoding: $0, as: UTF8.self) } }

    @Test func splitsAcrossChunks() {
        var s = LineSplitter()
        #expect(s.feed(Data("hel".utf8)).isEmpty)
        #expect(text(s.feed(Data("lo\nwor".utf8))) == ["hello"])
        #expect(text(s.feed(Data("ld\n\nthree\nfour".utf8))) == ["world", "", "three"])
        #expect(s.finish().map { String(decoding: $0, as: UTF8.self) } == "four")
        #expect(s.finish() == nil)
    }

    @Test func everyByteAlone() {
        var s = LineSplitter()
        var lines: [String] = []
        for b in Data("a\nbc\n\nd".utf8) { lines += text(s.feed(Data([b]))) }
        #expect(lines == ["a", "bc", ""])
        #expect(s.finish() == Data("d".utf8))
    }

    @Test func noTrailingPartialMeansNothingToFlush() {
        var s = LineSplitter()
        #expect(text(s.feed(Data("x\ny\n".utf8))) == ["x", "y"])
        #expect(s.finish() == nil)
        #expect(s.feed(Data()).isEmpty)
    }

    @Test func keepsBytesThatAreNotUTF8() {
        var s = LineSplitter()
        let lines = s.feed(Data([0xff, 0x00, 0x0a, 0xfe]))
        #expect(lines == [Data([0xff, 0x00])])
        #expect(s.finish() == Data([0xfe]))
    }

    @Test func overlongLinesAreCut() {
        var s = LineSplitter(maxPartial: 4)
        #expect(text(s.feed(Data("abcdefghij".utf8))) == ["abcd", "efgh"])
        #expect(text(s.feed(Data("kl\nmnopqrstu\n".utf8))) == ["ijkl", "mnop", "qrst", "u"])
        #expect(s.finish() == nil)
    }

    @Test func prefixesAlign() {
        let names = ["a", "web10", "db1"]
        let w = LinePrefix.width(of: names)
        #expect(w == 5)
        #expect(LinePrefix(name: "a", width: w).text == "a     | ")
        #expect(LinePrefix(name: "web10", width: w).text == "web10 | ")
        #expect(LinePrefix(name: "db1", width: w).apply(Data("up 3 days".utf8)) == Data("db1   | up 3 days\n".utf8))
        #expect(LinePrefix(name: "db1", width: w).apply("exit status 1") == Data("db1   | exit status 1\n".utf8))
        #expect(LinePrefix.width(of: []) == 0)
    }

    @Test func colourOnlyWhenAsked() {
        #expect(LinePrefix(name: "a", width: 2, colour: 0).text == "\u{1B}[36ma  |\u{1B}[0m ")
        #expect(LinePrefix(name: "a", width: 2, colour: 1).text == "\u{1B}[32ma  |\u{1B}[0m ")
        #expect(LinePrefix(name: "a", width: 2, colour: 10) == LinePrefix(name: "a", width: 2, colour: 0))
        #expect(!LinePrefix(name: "a", width: 2).text.contains("\u{1B}"))
    }
}
