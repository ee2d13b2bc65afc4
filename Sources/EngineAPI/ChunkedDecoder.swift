/// Incremental decoder of `Transfer-Encoding: chunked` bodies (pure). Chunk extensions and
/// trailers are skipped; lines may end in CRLF or a bare LF.
struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case sizeLine, data(remaining: Int), dataEnd, trailer, done
    }
    private var state = State.sizeLine
    private var line: [UInt8] = []
    static let maxLineLength = 8192

    var isDone: Bool { if case .done = state { true } else { false } }

    /// Decodes from input, appending data to out (refusing to grow it beyond limit); returns how
    /// many input bytes were consumed (fewer than input.count only once done).
    mutating func decode(_ input: ArraySlice<UInt8>, into out: inout [UInt8], limit: Int) throws(HTTPParseError) -> Int {
        var i = input.startIndex
        while i < input.endIndex {
            switch state {
            case .done:
                return i - input.startIndex
            case .data(let remaining):
                let n = min(remaining, input.endIndex - i)
                if out.count + n > limit { throw HTTPParseError("body larger than \(limit) bytes") }
                out.append(contentsOf: input[i..<(i + n)])
                i += n
                state = remaining == n ? .dataEnd : .data(remaining: remaining - n)
            case .sizeLine, .dataEnd, .trailer:
                let byte = input[i]
                i += 1
                if byte != UInt8(ascii: "\n") {
                    line.append(byte)
                    if line.count > Self.maxLineLength { throw HTTPParseError("chunk line too long") }
                    continue
                }
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                let current = line
                line.removeAll(keepingCapacity: true)
                try endOfLine(current)
            }
        }
        return i - input.startIndex
    }

    private mutating func endOfLine(_ text: [UInt8]) throws(HTTPParseError) {
        switch state {
        case .sizeLine:
            let size = try Self.chunkSize(text)
            state = size == 0 ? .trailer : .data(remaining: size)
        case .dataEnd:
            guard text.isEmpty else { throw HTTPParseError("missing CRLF after chunk data") }
            state = .sizeLine
        case .trailer:
            if text.isEmpty { state = .done }
        case .data, .done:
            break
        }
    }

    /// "1a3f;ext=1" -> 0x1a3f
    static func chunkSize(_ line: [UInt8]) throws(HTTPParseError) -> Int {
        let digits = line.prefix { $0 != UInt8(ascii: ";") }
        let text = String(decoding: digits, as: UTF8.self).trimmingWhitespace()
        guard !text.isEmpty, text.count <= 15, let size = Int(text, radix: 16), size >= 0,
            text.allSatisfy(\.isHexDigit)
        else { throw HTTPParseError("invalid chunk size \"\(String(decoding: line.prefix(40), as: UTF8.self))\"") }
        return size
    }
}
