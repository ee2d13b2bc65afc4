/// Writes a gob stream the way Go's gob.Encoder writes it, byte for byte: each type is defined
/// once per stream, before the first value that needs it; ids are given in the order Go gives
/// them in a fresh process; an interface value's type definitions are flushed in the middle of
/// the enclosing message exactly where Go flushes them.
public final class GobEncoder {
    private final class Buffer {
        var bytes: [UInt8] = []
    }

    private var ids: [GobType: Int] = [:]
    private var nextId = GobWire.firstUserId
    private var sent: Set<GobType> = []
    private var writers: [Buffer] = []

    public init() {}

    /// The bytes of one top-level value, with the definitions of any types not sent before.
    public func encode(_ type: GobType, _ value: GobValue) throws -> [UInt8] {
        let out = Buffer()
        writers = [out]
        defer { writers = [] }
        let b = Buffer()
        try sendTypeDescriptor(b, type)
        putInt(b, Int64(id(of: type)))
        try encodeTop(b, type, value)
        writeMessage(out, b)
        return out.bytes
    }

    // MARK: Types

    private func id(of type: GobType) -> Int {
        if let b = type.builtinId { return b }
        if let i = ids[type] { return i }
        // Go numbers a struct before its fields (so it may refer to itself), and a slice, array or
        // map after what it holds.
        switch type {
        case .structure(_, let fields):
            assign(type)
            for f in fields { _ = id(of: f.type) }
        case .slice(_, let elem), .array(_, let elem, _):
            _ = id(of: elem)
            assign(type)
        case .map(_, let key, let elem):
            _ = id(of: key)
            _ = id(of: elem)
            assign(type)
        default:
            break
        }
        return ids[type]!
    }

    private func assign(_ type: GobType) {
        if ids[type] == nil {
            ids[type] = nextId
            nextId += 1
        }
    }

    private func sendTypeDescriptor(_ b: Buffer, _ type: GobType) throws {
        if type.builtinId != nil { return }
        try sendType(b, type)
    }

    private func sendType(_ b: Buffer, _ type: GobType) throws {
        guard type.builtinId == nil, !sent.contains(type) else { return }
        let myId = id(of: type)
        putInt(b, -Int64(myId))
        try encodeStruct(b, GobWire.wireType, wireValue(type, id: myId))
        writeMessage(writers[writers.count - 1], b)
        sent.insert(type)
        switch type {
        case .structure(_, let fields):
            for f in fields { try sendType(b, f.type) }
        case .slice(_, let elem), .array(_, let elem, _):
            try sendType(b, elem)
        case .map(_, let key, let elem):
            try sendType(b, key)
            try sendType(b, elem)
        default:
            break
        }
    }

    private func wireValue(_ type: GobType, id myId: Int) -> GobValue {
        func common(_ name: String) -> GobValue {
            .structure(["Name": .string(name), "Id": .int(Int64(myId))])
        }
        switch type {
        case .structure(let name, let fields):
            let list = fields.map { GobValue.structure(["Name": .string($0.name), "Id": .int(Int64(id(of: $0.type)))]) }
            return .structure(["StructT": .structure(["CommonType": common(name), "Field": .list(list)])])
        case .slice(let name, let elem):
            return .structure(["SliceT": .structure(["CommonType": common(name), "Elem": .int(Int64(id(of: elem)))])])
        case .array(let name, let elem, let count):
            return .structure([
                "ArrayT": .structure([
                    "CommonType": common(name), "Elem": .int(Int64(id(of: elem))),
                    "Len": .int(Int64(count)),
                ])
            ])
        case .map(let name, let key, let elem):
            return .structure([
                "MapT": .structure([
                    "CommonType": common(name), "Key": .int(Int64(id(of: key))),
                    "Elem": .int(Int64(id(of: elem))),
                ])
            ])
        default:
            return .structure([:])
        }
    }

    /// Go's writeMessage: the buffer's bytes, prefixed with their count, go to `to`; the buffer
    /// is emptied.
    private func writeMessage(_ to: Buffer, _ b: Buffer) {
        let body = b.bytes
        b.bytes = []
        putUint(to, UInt64(body.count))
        to.bytes += body
    }

    // MARK: Values

    private func encodeTop(_ b: Buffer, _ type: GobType, _ value: GobValue) throws {
        if case .structure = type {
            try encodeStruct(b, type, value)
        } else {
            putUint(b, 0)
            try encodeValue(b, type, value)
        }
    }

    private func encodeStruct(_ b: Buffer, _ type: GobType, _ value: GobValue) throws {
        guard case .structure(let name, let fields) = type, case .structure(let values) = value else {
            throw GobError.mismatch("\(value) is not a struct value")
        }
        if let unknown = values.keys.first(where: { k in !fields.contains { $0.name == k } }) {
            throw GobError.mismatch("struct \(name) has no field \(unknown)")
        }
        var last = -1
        for (i, f) in fields.enumerated() {
            guard let v = values[f.name], !isOmitted(f.type, v) else { continue }
            putUint(b, UInt64(i - last))
            last = i
            try encodeValue(b, f.type, v)
        }
        putUint(b, 0)
    }

    /// Gob leaves zero fields out of a struct (nested structs are always sent).
    private func isOmitted(_ type: GobType, _ v: GobValue) -> Bool {
        if case .structure = type { return false }
        switch v {
        case .bool(let x): return !x
        case .int(let x): return x == 0
        case .uint(let x): return x == 0
        case .float(let x): return x == 0
        case .bytes(let x): return x.isEmpty
        case .string(let x): return x.isEmpty
        case .list(let x): return x.isEmpty
        case .map(let x): return x.isEmpty
        case .interface(let x): return x == nil
        case .structure: return false
        }
    }

    private func encodeValue(_ b: Buffer, _ type: GobType, _ value: GobValue) throws {
        switch (type, value) {
        case (.bool, .bool(let x)): putUint(b, x ? 1 : 0)
        case (.int, .int(let x)): putInt(b, x)
        case (.uint, .uint(let x)): putUint(b, x)
        case (.float, .float(let x)): putUint(b, x.bitPattern.byteSwapped)
        case (.bytes, .bytes(let x)):
            putUint(b, UInt64(x.count))
            b.bytes += x
        case (.string, .string(let x)):
            putUint(b, UInt64(x.utf8.count))
            b.bytes += Array(x.utf8)
        case (.slice(_, let elem), .list(let xs)):
            putUint(b, UInt64(xs.count))
            for x in xs { try encodeValue(b, elem, x) }
        case (.array(_, let elem, let count), .list(let xs)):
            guard xs.count == count else { throw GobError.mismatch("array of \(count) given \(xs.count) elements") }
            putUint(b, UInt64(xs.count))
            for x in xs { try encodeValue(b, elem, x) }
        case (.map(_, let key, let elem), .map(let entries)):
            putUint(b, UInt64(entries.count))
            for e in entries {
                try encodeValue(b, key, e.key)
                try encodeValue(b, elem, e.value)
            }
        case (.structure, .structure):
            try encodeStruct(b, type, value)
        case (.interface, .interface(let iv)):
            try encodeInterface(b, iv)
        default:
            throw GobError.mismatch("\(value) written as \(type)")
        }
    }

    /// Go's encodeInterface: the registered name; the concrete type's definitions, flushed (with
    /// all of `b` so far) to the current writer; the type id; then the value as its own
    /// length-prefixed message inside `b`, any definitions it needs written into `b` before it.
    private func encodeInterface(_ b: Buffer, _ iv: GobInterface?) throws {
        guard let iv else {
            putUint(b, 0)
            return
        }
        guard !iv.name.isEmpty else { throw GobError.mismatch("an interface value needs its type's registered name") }
        putUint(b, UInt64(iv.name.utf8.count))
        b.bytes += Array(iv.name.utf8)
        try sendTypeDescriptor(b, iv.type)
        putInt(b, Int64(id(of: iv.type)))
        writers.append(b)
        let data = Buffer()
        try encodeTop(data, iv.type, iv.value)
        writers.removeLast()
        writeMessage(b, data)
    }

    private func putUint(_ b: Buffer, _ u: UInt64) {
        if u < 0x80 {
            b.bytes.append(UInt8(u))
            return
        }
        var be: [UInt8] = []
        var x = u
        while x > 0 {
            be.insert(UInt8(x & 0xff), at: 0)
            x >>= 8
        }
        b.bytes.append(UInt8(256 - be.count))
        b.bytes += be
    }

    private func putInt(_ b: Buffer, _ i: Int64) {
        let u: UInt64 = i < 0 ? (UInt64(bitPattern: ~i) << 1) | 1 : UInt64(i) << 1
        putUint(b, u)
    }
}
