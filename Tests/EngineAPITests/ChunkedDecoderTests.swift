import Testing

@testable import EngineAPI

@Suite struct ChunkedDecoderTests {
    @Test(arguments: [
        ("1\r\na\r\n0\r\n\r\n", "a", 0),
        ("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\nREST", "abcdef", 4),
        ("ff;name=value\r\n" + String(repeating: "z", count: 255) + "\r\n0\r\n\r\n", String(repeating: "z", count: 255), 0),
        ("2\nhi\n0\n\n", "hi", 0),
        ("0\r\nTrailer: x\r\nOther: y\r\n\r\n", "", 0),
    ])
    func decodes(_ raw: String, _ expected: String, _ leftover: Int) throws {
        for piece in [1, 3, 1000] {
            var d = ChunkedDecoder()
            var out: [UInt8] = []
            let bytes = Array(raw.utf8)
            var consumed = 0
            for start in stride(from: 0, to: bytes.count, by: piece) {
                consumed += try d.decode(bytes[start..<min(start + piece, bytes.count)], into: &out, limit: 1 << 20)
            }
            #expect(d.isDone)
            #expect(String(decoding: out, as: UTF8.self) == expected)
            #expect(bytes.count - consumed == leftover)
        }
    }

    @Test(arguments: [
        ("\r\n", "invalid chunk size"),
        ("-1\r\n", "invalid chunk size"),
        ("fffffffffffffffff\r\n", "invalid chunk size"),
        ("0x10\r\n", "invalid chunk size"),
        ("2\r\nabc\r\n", "missing CRLF after chunk data"),
        (String(repeating: "1", count: 9000), "chunk line too long"),
    ])
    func rejects(_ raw: String, _ message: String) {
        var d = ChunkedDecoder()
        var out: [UInt8] = []
        do {
            _ = try d.decode(Array(raw.utf8)[...], into: &out, limit: 1 << 20)
            Issue.record("accepted \(raw.prefix(40).debugDescription)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }
}
