import Foundation

/// A POSIX ustar archive of regular files and directories, written and read in memory: what
/// `export` produces (and `docker context import` accepts). No links, devices or PAX headers;
/// a name longer than ustar holds (100 bytes, or a 155-byte prefix plus 100) is refused.
public enum Tar {
    public struct Entry: Equatable, Sendable {
        public enum Kind: Equatable, Sendable { case file, directory }
        public var path: String
        public var kind: Kind
        public var mode: UInt32
        public var data: Data

        public static func file(_ path: String, _ data: Data, mode: UInt32 = 0o600) -> Entry {
            Entry(path: path, kind: .file, mode: mode, data: data)
        }

        public static func directory(_ path: String, mode: UInt32 = 0o700) -> Entry {
            Entry(path: path, kind: .directory, mode: mode, data: Data())
        }
    }

    public struct Malformed: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    static let block = 512

    public static func write(_ entries: [Entry], mtime: Date = Date()) throws -> Data {
        var out = Data()
        for e in entries {
            out.append(try header(for: e, mtime: mtime))
            if e.kind == .file {
                out.append(e.data)
                out.append(Data(count: padding(e.data.count)))
            }
        }
        out.append(Data(count: 2 * block))
        return out
    }

    public static func read(_ data: Data) throws -> [Entry] {
        let bytes = [UInt8](data)
        var entries: [Entry] = []
        var at = 0
        while true {
            guard at + block <= bytes.count else {
                throw Malformed(
                    entries.isEmpty && bytes.isEmpty ? "empty archive" : "the archive ends in the middle of a header (truncated)")
            }
            let h = Array(bytes[at..<at + block])
            if h.allSatisfy({ $0 == 0 }) { return entries }
            guard checksum(h) == octal(h[148..<156]) else {
                throw Malformed("a header's checksum does not match (damaged or not a tar archive)")
            }
            guard let size = octal(h[124..<136]), let mode = octal(h[100..<108]) else {
                throw Malformed("a header's size or mode is not octal")
            }
            var name = text(h[0..<100])
            if Array(h[257..<262]) == Array("ustar".utf8) {
                let prefix = text(h[345..<500])
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            let type = h[156]
            at += block
            guard at + size <= bytes.count else { throw Malformed("\(name): the archive ends inside this file (truncated)") }
            let body = Data(bytes[at..<at + size])
            at += size + padding(size)
            switch type {
            case UInt8(ascii: "0"), 0:
                entries.append(Entry(path: name, kind: .file, mode: UInt32(mode & 0o7777), data: body))
            case UInt8(ascii: "5"):
                entries.append(
                    Entry(
                        path: name.hasSuffix("/") ? String(name.dropLast()) : name, kind: .directory, mode: UInt32(mode & 0o7777),
                        data: Data()))
            default:
                throw Malformed("\(name): only regular files and directories are expected (type \(Character(UnicodeScalar(type))))")
            }
        }
    }

    /// The first block is a ustar header with a good checksum: a cut or damaged archive still
    /// starts like one; another kind of file does not.
    public static func startsLikeAnArchive(_ data: Data) -> Bool {
        guard data.count >= block else { return false }
        let h = [UInt8](data.prefix(block))
        return Array(h[257..<262]) == Array("ustar".utf8) && checksum(h) == octal(h[148..<156])
    }

    // MARK: - Header fields

    static func padding(_ n: Int) -> Int { (block - n % block) % block }

    static func header(for e: Entry, mtime: Date) throws -> Data {
        var h = [UInt8](repeating: 0, count: block)
        let path = e.kind == .directory && !e.path.hasSuffix("/") ? e.path + "/" : e.path
        let (prefix, name) = try split(path)
        put(&h, 0, 100, Array(name.utf8))
        put(&h, 100, 8, octalField(Int(e.mode), width: 8))
        put(&h, 108, 8, octalField(0, width: 8))
        put(&h, 116, 8, octalField(0, width: 8))
        put(&h, 124, 12, octalField(e.kind == .file ? e.data.count : 0, width: 12))
        put(&h, 136, 12, octalField(max(0, Int(mtime.timeIntervalSince1970)), width: 12))
        h[156] = e.kind == .file ? UInt8(ascii: "0") : UInt8(ascii: "5")
        put(&h, 257, 6, Array("ustar\0".utf8))
        put(&h, 263, 2, Array("00".utf8))
        put(&h, 265, 32, Array("root".utf8))
        put(&h, 297, 32, Array("root".utf8))
        put(&h, 345, 155, Array(prefix.utf8))
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(&h, 148, 8, Array(String(format: "%06o", sum).utf8) + [0, 0x20])
        return Data(h)
    }

    /// ustar keeps a path as prefix (155 bytes) + "/" + name (100 bytes).
    static func split(_ path: String) throws -> (String, String) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ("", path) }
        for (i, b) in bytes.enumerated().reversed() where b == UInt8(ascii: "/") {
            if i <= 155 && bytes.count - i - 1 <= 100 && bytes.count - i - 1 > 0 {
                return (String(decoding: bytes[..<i], as: UTF8.self), String(decoding: bytes[(i + 1)...], as: UTF8.self))
            }
        }
        throw Malformed("\(path): too long for a tar header")
    }

    static func put(_ h: inout [UInt8], _ at: Int, _ width: Int, _ value: [UInt8]) {
        for (i, b) in value.prefix(width).enumerated() { h[at + i] = b }
    }

    static func octalField(_ value: Int, width: Int) -> [UInt8] {
        Array(String(format: "%0\(width - 1)o", value).utf8) + [0]
    }

    static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        let digits = field.drop { $0 == 0x20 }.prefix { $0 != 0 && $0 != 0x20 }
        if digits.isEmpty { return 0 }
        var v = 0
        for d in digits {
            guard (0x30...0x37).contains(d) else { return nil }
            v = v * 8 + Int(d - 0x30)
        }
        return v
    }

    static func checksum(_ h: [UInt8]) -> Int {
        var sum = 0
        for (i, b) in h.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(b) }
        return sum
    }

    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}
