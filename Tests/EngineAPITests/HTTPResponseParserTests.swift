import Testing

@testable import EngineAPI

@Suite struct HTTPResponseParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var raw: String
        var status: Int
        var body: String
        var completeBeforeEOF: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n\r\nOK",
            status: 200, body: "OK", completeBeforeEOF: true),
        Case(
            name: "content-length ignores trailing bytes", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKjunk",
            status: 200, body: "OK", completeBeforeEOF: true),
        Case(name: "zero length", raw: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", status: 200, body: "", completeBeforeEOF: true),
        Case(
            name: "chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
            status: 200, body: "Wikipedia", completeBeforeEOF: true),
        Case(
            name: "chunked, upper-case hex, extension, trailer",
            raw: "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\nA;x=1\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
            status: 200, body: "0123456789", completeBeforeEOF: true),
        Case(
            name: "chunked wins over content-length",
            raw: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            status: 200, body: "hi", completeBeforeEOF: true),
        Case(
            name: "read to EOF (HTTP/1.0)", raw: "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<HTML>x</HTML>",
            status: 200, body: "<HTML>x</HTML>", completeBeforeEOF: false),
        Case(
            name: "bare LF line ends", raw: "HTTP/1.1 404 Not Found\nContent-Length: 3\n\nnop", status: 404, body: "nop",
            completeBeforeEOF: true),
        Case(
            name: "100 Continue skipped", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
            status: 201, body: "x", completeBeforeEOF: true),
        Case(name: "204 has no body", raw: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, body: "", completeBeforeEOF: true),
        Case(
            name: "no reason phrase", raw: "HTTP/1.1 500\r\nContent-Length: 2\r\n\r\n{}", status: 500, body: "{}", completeBeforeEOF: true),
        Case(
            name: "repeated equal content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", status: 200, body: "x",
            completeBeforeEOF: true),
    ]

    /// Every case, fed whole, byte by byte and in 7-byte pieces.
    @Test(arguments: cases, [0, 1, 7])
    func parses(_ c: Case, pieceSize: Int) throws {
        var parser = HTTPResponseParser()
        let bytes = Array(c.raw.utf8)
        let size = pieceSize == 0 ? max(bytes.count, 1) : pieceSize
        for start in stride(from: 0, to: bytes.count, by: size) {
            try parser.feed(bytes[start..<min(start + size, bytes.count)])
        }
        #expect(parser.isComplete == c.completeBeforeEOF)
        let r = try parser.finish()
        #expect(r.status == c.status)
        #expect(r.bodyText == c.body)
    }

    @Test func headersAreCaseInsensitiveAndFolded() throws {
        var parser = HTTPResponseParser()
        try parser.feed(
            Array("HTTP/1.1 200 OK\r\nAPI-VERSION:  1.41 \r\nX-Long: a\r\n  b\r\nSet: 1\r\nset: 2\r\nContent-Length: 0\r\n\r\n".utf8))
        let r = try #require(parser.response)
        #expect(r.headers["api-version"] == "1.41")
        #expect(r.headers["Api-Version"] == "1.41")
        #expect(r.headers["x-long"] == "a b")
        #expect(r.headers.values("SET") == ["1", "2"])
        #expect(r.reason == "OK")
        #expect(r.version == "HTTP/1.1")
    }

    @Test func headRequestHasNoBody() throws {
        var parser = HTTPResponseParser(isHeadRequest: true)
        try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".utf8))
        #expect(parser.isComplete)
    }

    @Test(arguments: [
        ("", "connection closed without a response"),
        ("HTTP/1.1 200 OK\r\nContent-", "in the middle of the response head"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "7 bytes of the body missing"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "middle of a chunked body"),
    ])
    func truncated(_ raw: String, _ message: String) throws {
        var parser = HTTPResponseParser()
        try parser.feed(Array(raw.utf8))
        #expect(throws: HTTPParseError.self) { try parser.finish() }
        do { _ = try parser.finish() } catch { #expect(error.description.contains(message), "\(error)") }
    }

    @Test(arguments: [
        ("SSH-2.0-OpenSSH_9.2\r\n\r\n", "invalid status line"),
        ("HTTP/1.1 2000 OK\r\n\r\n", "invalid status line"),
        ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "invalid header line"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "body larger than 64 bytes"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + String(repeating: "a", count: 65), "body larger than 64 bytes"),
        ("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "a", count: 65), "body larger than 64 bytes"),
    ])
    func rejects(_ raw: String, _ message: String) {
        var parser = HTTPResponseParser(maxBodySize: 64)
        do {
            try parser.feed(Array(raw.utf8))
            _ = try parser.finish()
            Issue.record("accepted \(raw.debugDescription)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func headSizeIsCapped() {
        var parser = HTTPResponseParser(maxHeadSize: 100)
        #expect(throws: HTTPParseError("response head larger than 100 bytes")) {
            try parser.feed(Array(("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 200)).utf8))
        }
    }
}
