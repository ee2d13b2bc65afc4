import Foundation
import SwockSupport
import Testing

struct ISO8601TimeTests {
    @Test func readsWhatFoundationReads() throws {
        let f = ISO8601DateFormatter()
        for text in [
            "2026-12-04T19:20:10Z", "1999-12-31T23:59:59Z", "2024-02-29T00:00:00Z", "2026-01-01T08:00:00+08:00",
            "2026-06-30T12:30:00-04:30",
        ] {
            #expect(ISO8601Time.parse(text) == f.date(from: text), "\(text)")
        }
        let frac = try #require(ISO8601Time.parse("2026-12-04T19:20:10.250Z"))
        #expect(abs(frac.timeIntervalSince1970 - (f.date(from: "2026-12-04T19:20:10Z")!.timeIntervalSince1970 + 0.25)) < 0.0001)
    }

    @Test func refusesWhatIsNotATimestamp() {
        for bad in [
            "", "2026-12-04", "2026-12-04T19:20:10", "2026-13-04T19:20:10Z", "2026-02-30T00:00:00Z", "2026-12-04T24:00:00Z",
            "2026-12-04T19:20:10Zjunk", "2026-12-04T19:20:10.Z", "2026-12-04 19:20:10Z", "20x6-12-04T19:20:10Z", "2026-12-04T19:20:10+0800",
        ] {
            #expect(ISO8601Time.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func writesWholeSecondsInUTCAsJSONEncoderDid() throws {
        let d = Date(timeIntervalSince1970: 1_796_411_210.75)
        #expect(ISO8601Time.format(d) == ISO8601DateFormatter().string(from: d))
        #expect(ISO8601Time.parse(ISO8601Time.format(d)) == Date(timeIntervalSince1970: 1_796_411_210))
    }
}
