/// Reads a gob stream value by value, the way Go's gob.Decoder reads it: messages are
/// length-prefixed; type definitions (a negative id and a wireType) come before the values that
/// use them, and, inside an interface value, may sit in the middle of the enclosing message.
public final class GobDecoder {
    /// Reads exactly `count` bytes, or returns nil when the stream ended before the first of them.
    public typealias Reader = (_ count: Int) throws -> [UInt8]?

    /// Go refuses messages of 1 GiB and more; a plugin's answers are small.
    static let maxMessage = 64 << 20
    static let maxDepth = 64

    private let read: Reader
    private var buf: [UInt8] = []
    private var pos = 0
    private var definitions: [Int: WireDefinition] = [:]
    private var resolved: [Int: GobType] = [:]

    public init(read: @escaping Reader) { self.read = read }

    /// A decoder over bytes already in hand (tests, fixtures).
    public convenience init(bytes: [UInt8]) {
        var offset = 0
        self.init(read: { count in
            if offset == bytes.count { return nil }
            guard bytes.count - offset >= count else { throw GobError.truncated }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        })
    }

    /// The next top-level value with its type, or nil at the end of the stream between values.
    public func decode() throws -> (type: GobType, value: GobValue)? {
        guard let id = try typeSequence(isInterface: false, atStart: true) else { return nil }
        let type = try resolve(id)
        let value = try decodeTop(type, depth: 0)
        if pos != buf.count { throw GobError.corrupt("\(buf.count - pos) bytes left over after a value") }
        return (type, value)
    }

    // MARK: Messages and type definitions

    private func receiveMessage(atStart: Bool) throws -> Bool {
        guard let first = try read(1) else {
            if atStart { return false }
            throw GobError.truncated
        }
        let length = try Self.streamUint(first[0]) { n in
            guard let b = try read(n) else { throw GobError.truncated }
            return b
        }
        guard length > 0, length < UInt64(Self.maxMessage) else {
            throw GobError.corrupt("message length \(length)")
        }
        guard let bytes = try read(Int(length)) else { throw GobError.truncated }
        buf = bytes
        pos = 0
        return true
    }

    private static func streamUint(_ first: UInt8, more: (Int) throws -> [UInt8]) throws -> UInt64 {
        if first < 0x80 { return UInt64(first) }
        let n = 256 - Int(first)
        guard n <= 8 else { throw GobError.corrupt("integer of \(n) bytes") }
        var u: UInt64 = 0
        for b in try more(n) { u = u << 8 | UInt64(b) }
        return u
    }

    /// Reads type definitions up to the next value's type id (Go's decodeTypeSequence).
    private func typeSequence(isInterface: Bool, atStart: Bool) throws -> Int? {
        var first = atStart
        while true {
            if pos == buf.count {
                guard try receiveMessage(atStart: first) else { return nil }
            }
            first = false
            let id = try nextInt()
            if id >= 0 {
                guard id <= Int64(Int32.max) else { throw GobError.corrupt("type id \(id)") }
                return Int(id)
            }
            guard id >= -Int64(Int32.max) else { throw GobError.corrupt("type id \(id)") }
            let defined = Int(-id)
            guard defined > GobWire.lastPredefinedId, definitions[defined] == nil else {
                throw GobError.corrupt("type id \(defined) defined twice or reserved")
            }
            let wire = try decodeStruct(GobWire.wireType, depth: 0)
            definitions[defined] = try WireDefinition(wire)
            // Inside an interface value, a definition may be followed by the value's byte count.
            if pos < buf.count {
                guard isInterface else { throw GobError.corrupt("extra data after a type definition") }
                _ = try nextUint()
            }
        }
    }

    private func resolve(_ id: Int, depth: Int = 0) throws -> GobType {
        if let b = GobType.builtin(id) { return b }
        if let t = resolved[id] { return t }
        guard depth < Self.maxDepth else { throw GobError.unsupported("recursive types") }
        guard let def = definitions[id] else { throw GobError.unknownType(id) }
        let t: GobType
        switch def {
        case .slice(let name, let elem):
            t = .slice(name: name, elem: try resolve(elem, depth: depth + 1))
        case .array(let name, let elem, let count):
            t = .array(name: name, elem: try resolve(elem, depth: depth + 1), count: count)
        case .map(let name, let key, let elem):
            t = .map(name: name, key: try resolve(key, depth: depth + 1), elem: try resolve(elem, depth: depth + 1))
        case .structure(let name, let fields):
            t = .structure(name: name, fields: try fields.map { GobField(name: $0.name, type: try resolve($0.id, depth: depth + 1)) })
        }
        resolved[id] = t
        return t
    }

    // MARK: Values

    /// A value standing alone (top level, or inside an interface): a struct as itself, anything
    /// else as a one-field struct, field delta 0.
    private func decodeTop(_ type: GobType, depth: Int) throws -> GobValue {
        if case .structure = type { return try decodeStruct(type, depth: depth) }
        guard try nextUint() == 0 else { throw GobError.corrupt("non-zero delta before a single value") }
        return try decodeValue(type, depth: depth)
    }

    private func decodeStruct(_ type: GobType, depth: Int) throws -> GobValue {
        guard case .structure(let name, let fields) = type else { throw GobError.mismatch("not a struct") }
        guard depth < Self.maxDepth else { throw GobError.unsupported("values nested deeper than \(Self.maxDepth)") }
        var values: [String: GobValue] = [:]
        var field = -1
        while true {
            let delta = try nextUint()
            if delta == 0 { break }
            guard delta <= UInt64(fields.count), field + Int(delta) < fields.count else {
                throw GobError.corrupt(
                    "field \(field + Int(min(delta, 1 << 20))) of \(name.isEmpty ? "a struct" : name) with \(fields.count) fields")
            }
            field += Int(delta)
            values[fields[field].name] = try decodeValue(fields[field].type, depth: depth + 1)
        }
        return .structure(values)
    }

    private func decodeValue(_ type: GobType, depth: Int) throws -> GobValue {
        guard depth < Self.maxDepth else { throw GobError.unsupported("values nested deeper than \(Self.maxDepth)") }
        switch type {
        case .bool: return .bool(try nextUint() != 0)
        case .int: return .int(try nextInt())
        case .uint: return .uint(try nextUint())
        case .float:
            let reversed = try nextUint()
            return .float(Double(bitPattern: reversed.byteSwapped))
        case .bytes: return .bytes(try nextBytes())
        case .string: return .string(String(decoding: try nextBytes(), as: UTF8.self))
        case .interface:
            let name = String(decoding: try nextBytes(), as: UTF8.self)
            if name.isEmpty { return .interface(nil) }
            guard let id = try typeSequence(isInterface: true, atStart: false) else { throw GobError.truncated }
            _ = try nextUint()  // the value's byte count, there for skipping it
            let concrete = try resolve(id)
            return .interface(GobInterface(name: name, type: concrete, value: try decodeTop(concrete, depth: depth + 1)))
        case .slice(_, let elem):
            let n = try count()
            return .list(try (0..<n).map { _ in try decodeValue(elem, depth: depth + 1) })
        case .array(_, let elem, let expected):
            let n = try count()
            guard n == expected else { throw GobError.corrupt("array of \(n) elements for \(expected)") }
            return .list(try (0..<n).map { _ in try decodeValue(elem, depth: depth + 1) })
        case .map(_, let key, let elem):
            let n = try count()
            return .map(
                try (0..<n).map { _ in
                    GobMapEntry(key: try decodeValue(key, depth: depth + 1), value: try decodeValue(elem, depth: depth + 1))
                })
        case .structure:
            return try decodeStruct(type, depth: depth)
        }
    }

    /// An element count: every element takes at least one byte, so more than remain is corrupt.
    private func count() throws -> Int {
        let n = try nextUint()
        guard n <= UInt64(buf.count - pos) else { throw GobError.corrupt("count \(n) beyond the message") }
        return Int(n)
    }

    private func nextUint() throws -> UInt64 {
        guard pos < buf.count else { throw GobError.truncated }
        let first = buf[pos]
        pos += 1
        return try Self.streamUint(first) { n in
            guard buf.count - pos >= n else { throw GobError.truncated }
            defer { pos += n }
            return Array(buf[pos..<pos + n])
        }
    }

    private func nextInt() throws -> Int64 {
        let u = try nextUint()
        return u & 1 == 1 ? Int64(bitPattern: ~(u >> 1)) : Int64(bitPattern: u >> 1)
    }

    private func nextBytes() throws -> [UInt8] {
        let n = try nextUint()
        guard n <= UInt64(buf.count - pos) else { throw GobError.truncated }
        defer { pos += Int(n) }
        return Array(buf[pos..<pos + Int(n)])
    }
}
