/// Incremental HTTP/1.x response parser (pure): feed bytes as they arrive, call `finish()` at
/// EOF. Handles Content-Length, chunked and read-to-EOF bodies, skips 1xx responses, and caps
/// the head and body sizes.
struct HTTPResponseParser: Sendable {
    private enum BodyMode: Sendable {
        case none, length(Int), chunked(ChunkedDecoder), untilEOF
    }
    private enum State: Sendable { case head, body(BodyMode), complete }

    let maxBodySize: Int
    let maxHeadSize: Int
    let isHeadRequest: Bool
    private var state = State.head
    private var pending: [UInt8] = []  // unparsed head bytes
    private var scanFrom = 0
    private var head: (version: String, status: Int, reason: String, headers: HTTPHeaders)?
    private var body: [UInt8] = []

    init(maxBodySize: Int = 16 << 20, maxHeadSize: Int = 64 << 10, isHeadRequest: Bool = false) {
        self.maxBodySize = maxBodySize
        self.maxHeadSize = maxHeadSize
        self.isHeadRequest = isHeadRequest
    }

    var isComplete: Bool { if case .complete = state { true } else { false } }
    var hasHead: Bool { head != nil }

    /// The response, once complete.
    var response: HTTPResponse? {
        guard isComplete, let head else { return nil }
        return HTTPResponse(
            version: head.version, status: head.status, reason: head.reason,
            headers: head.headers, body: body)
    }

    mutating func feed(_ bytes: [UInt8]) throws(HTTPParseError) {
        try feed(bytes[...])
    }

    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) {
        var input = bytes
        while !input.isEmpty {
            switch state {
            case .complete:
                return  // anything after the response is ignored (we always send Connection: close)
            case .head:
                pending.append(contentsOf: input)
                input = []
                guard let end = headEnd() else {
                    if pending.count > maxHeadSize { throw HTTPParseError("response head larger than \(maxHeadSize) bytes") }
                    return
                }
                let headBytes = Array(pending[..<end])
                let rest = Array(pending[end...])
                pending = []
                scanFrom = 0
                try startBody(headBytes)
                input = rest[...]
            case .body(let mode):
                input = try consumeBody(mode, input)
            }
        }
    }

    /// At EOF: completes a read-to-EOF body, or reports what is missing.
    mutating func finish() throws(HTTPParseError) -> HTTPResponse {
        switch state {
        case .complete: break
        case .head:
            throw HTTPParseError(
                pending.isEmpty ? "connection closed without a response" : "connection closed in the middle of the response head")
        case .body(.untilEOF), .body(.none):
            state = .complete
        case .body(.length(let remaining)):
            throw HTTPParseError("connection closed with \(remaining) bytes of the body missing")
        case .body(.chunked):
            throw HTTPParseError("connection closed in the middle of a chunked body")
        }
        guard let response else { throw HTTPParseError("connection closed without a complete response") }
        return response
    }

    // MARK: - head

    /// Index just past the blank line ending the head (CRLFCRLF or LFLF), if present.
    private mutating func headEnd() -> Int? {
        var i = max(scanFrom, 0)
        while i < pending.count {
            if pending[i] == UInt8(ascii: "\n") {
                if i + 1 < pending.count, pending[i + 1] == UInt8(ascii: "\n") { return i + 2 }
                if i + 2 < pending.count, pending[i + 1] == UInt8(ascii: "\r"), pending[i + 2] == UInt8(ascii: "\n") { return i + 3 }
            }
            i += 1
        }
        scanFrom = max(0, pending.count - 3)
        return nil
    }

    private mutating func startBody(_ headBytes: [UInt8]) throws(HTTPParseError) {
        let parsed = try Self.parseHead(headBytes)
        if (100..<200).contains(parsed.status) && parsed.status != 101 {
            state = .head  // interim response (100 Continue): the real one follows
            return
        }
        head = parsed
        let mode = try bodyMode(status: parsed.status, headers: parsed.headers)
        switch mode {
        case .none, .length(0): state = .complete
        default: state = .body(mode)
        }
    }

    static func parseHead(_ bytes: [UInt8]) throws(HTTPParseError) -> (version: String, status: Int, reason: String, headers: HTTPHeaders) {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { throw HTTPParseError("empty response head") }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].uppercased().hasPrefix("HTTP/"), parts[1].count == 3,
            parts[1].allSatisfy(\.isASCII), let status = Int(parts[1]), status >= 100
        else { throw HTTPParseError("invalid status line \"\(statusLine.prefix(80))\"") }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            if line.first == " " || line.first == "\t" {  // obsolete line folding
                guard var last = headers.fields.popLast() else { throw HTTPParseError("invalid header line") }
                last.value += " " + line.trimmingWhitespace()
                headers.fields.append(last)
                continue
            }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw HTTPParseError("invalid header line \"\(line.prefix(80))\"")
            }
            headers.append(line[..<colon].trimmingWhitespace(), line[line.index(after: colon)...].trimmingWhitespace())
        }
        return (String(parts[0]), status, parts.count > 2 ? String(parts[2]) : "", headers)
    }

    private func bodyMode(status: Int, headers: HTTPHeaders) throws(HTTPParseError) -> BodyMode {
        if isHeadRequest || status == 204 || status == 304 { return .none }
        let codings = headers.values("Transfer-Encoding")
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace().lowercased() }
        if !codings.isEmpty {
            return codings.last == "chunked" ? .chunked(ChunkedDecoder()) : .untilEOF
        }
        let lengths = Set(headers.values("Content-Length").flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace() })
        guard let text = lengths.first else { return .untilEOF }
        guard lengths.count == 1, !text.isEmpty, text.allSatisfy(\.isASCII), text.count <= 18,
            let length = Int(text), length >= 0
        else { throw HTTPParseError("invalid Content-Length \"\(lengths.sorted().joined(separator: ","))\"") }
        if length > maxBodySize { throw HTTPParseError("body larger than \(maxBodySize) bytes (Content-Length \(length))") }
        return .length(length)
    }

    // MARK: - body

    /// Consumes body bytes; returns what is left over (only once complete).
    private mutating func consumeBody(_ mode: BodyMode, _ input: ArraySlice<UInt8>) throws(HTTPParseError) -> ArraySlice<UInt8> {
        switch mode {
        case .none:
            state = .complete
            return input
        case .length(let remaining):
            let n = min(remaining, input.count)
            body.append(contentsOf: input.prefix(n))
            state = n == remaining ? .complete : .body(.length(remaining - n))
            return input.dropFirst(n)
        case .untilEOF:
            if body.count + input.count > maxBodySize { throw HTTPParseError("body larger than \(maxBodySize) bytes") }
            body.append(contentsOf: input)
            return []
        case .chunked(var decoder):
            let used = try decoder.decode(input, into: &body, limit: maxBodySize)
            state = decoder.isDone ? .complete : .body(.chunked(decoder))
            return input.dropFirst(used)
        }
    }
}
