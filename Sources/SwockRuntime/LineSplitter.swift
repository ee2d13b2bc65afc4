import Foundation

/// Splits a byte stream that arrives in arbitrary chunks into whole lines. A partial line is kept
/// until its newline arrives (or `finish`); one that grows past `maxPartial` is cut there, so a
/// host that never prints a newline cannot eat the memory.
public struct LineSplitter: Sendable {
    public let maxPartial: Int
    private var partial = Data()

    public init(maxPartial: Int = 1 << 20) {
        self.maxPartial = max(1, maxPartial)
    }

    /// The complete lines in what has arrived so far, without their "\n".
    public mutating func feed(_ chunk: Data) -> [Data] {
        var lines: [Data] = []
        feed(chunk) { lines.append(Data($0)) }
        return lines
    }

    /// Like `feed`, handing each complete line to `line` without copying it when it can
    /// (the buffer is only valid during the call). Scans with memchr: byte-wise Data access is
    /// far too slow for megabytes of output.
    public mutating func feed(_ chunk: Data, line: (UnsafeRawBufferPointer) -> Void) {
        chunk.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            let n = raw.count
            var start = 0
            while start < n, let hit = memchr(base + start, 0x0a, n - start) {
                let nl = base.distance(to: UnsafeRawPointer(hit))
                let piece = UnsafeRawBufferPointer(start: base + start, count: nl - start)
                if partial.isEmpty {
                    emit(piece, line)
                } else {
                    partial.append(contentsOf: piece)
                    let whole = partial
                    partial = Data()
                    whole.withUnsafeBytes { emit($0, line) }
                }
                start = nl + 1
            }
            if start < n { partial.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: n - start)) }
        }
        while partial.count > maxPartial {
            let head = partial.prefix(maxPartial)
            head.withUnsafeBytes { line($0) }
            partial = Data(partial.dropFirst(maxPartial))
        }
    }

    /// One line, cut into pieces of at most `maxPartial` bytes.
    private func emit(_ bytes: UnsafeRawBufferPointer, _ line: (UnsafeRawBufferPointer) -> Void) {
        guard bytes.count > maxPartial else { line(bytes); return }
        var i = 0
        while i < bytes.count {
            line(UnsafeRawBufferPointer(rebasing: bytes[i..<min(i + maxPartial, bytes.count)]))
            i += maxPartial
        }
    }

    /// The bytes of the unfinished line held so far.
    public var pendingCount: Int { partial.count }

    /// The partial line left at the end of the stream, if any.
    public mutating func finish() -> Data? {
        let rest = partial
        partial = Data()  // the caller holds the only reference: no copy
        return rest.isEmpty ? nil : rest
    }

}

/// The `NAME | ` prefix of fleet output: names padded to the longest one so the bars align,
/// optionally coloured (one colour per host, cycling through a palette without red).
public struct LinePrefix: Sendable, Equatable {
    public let text: String
    private let bytes: Data
    private let raw: [UInt8]

    static let palette = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94]

    public init(name: String, width: Int, colour: Int? = nil) {
        let padded = name + String(repeating: " ", count: max(0, width - name.count))
        if let colour {
            let code = Self.palette[((colour % Self.palette.count) + Self.palette.count) % Self.palette.count]
            text = "\u{1B}[\(code)m\(padded) |\u{1B}[0m "
        } else {
            text = padded + " | "
        }
        bytes = Data(text.utf8)
        raw = Array(text.utf8)
    }

    /// The column width for a set of names.
    public static func width(of names: [String]) -> Int {
        names.map(\.count).max() ?? 0
    }

    /// `prefix + line + "\n"` as three pieces, for a long line not to be copied (StandardStreams'
    /// `write(_:pieces:)`).
    public func pieces(_ line: Data) -> [Data] { [bytes, line, Self.newline] }
    static let newline = Data([0x0a])

    /// `prefix + line + "\n"`.
    public func apply(_ line: Data) -> Data {
        var out = bytes
        out.append(line)
        out.append(0x0a)
        return out
    }

    /// Appends `prefix + line + "\n"` to `out`.
    public func append(_ line: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: raw)
        out.append(contentsOf: line)
        out.append(0x0a)
    }

    /// A text line (a status message) with the prefix.
    public func apply(_ line: String) -> Data {
        apply(Data(line.utf8))
    }
}
