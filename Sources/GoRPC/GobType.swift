/// Go's gob encoding (encoding/gob), as much of it as Docker Machine's driver plugin protocol
/// uses: integers, booleans, floats, strings, byte slices, slices, arrays, maps, structs, and
/// interface values carrying a registered type name. Written from the format Go publishes
/// (encoding/gob's package documentation) and checked on bytes Go itself produced
/// (Tests/Fixtures/gob).
///
/// A type as a gob stream describes it. Composite types carry the name Go sends in their
/// definition (`CommonType.Name`), which matters only for producing Go's exact bytes.
public indirect enum GobType: Hashable, Sendable {
    case bool
    case int
    case uint
    case float
    case bytes
    case string
    case interface
    case slice(name: String, elem: GobType)
    case array(name: String, elem: GobType, count: Int)
    case map(name: String, key: GobType, elem: GobType)
    case structure(name: String, fields: [GobField])

    /// The predefined ids of Go's basic types (encoding/gob type.go).
    var builtinId: Int? {
        switch self {
        case .bool: return 1
        case .int: return 2
        case .uint: return 3
        case .float: return 4
        case .bytes: return 5
        case .string: return 6
        case .interface: return 8
        default: return nil
        }
    }

    static func builtin(_ id: Int) -> GobType? {
        switch id {
        case 1: return .bool
        case 2: return .int
        case 3: return .uint
        case 4: return .float
        case 5: return .bytes
        case 6: return .string
        case 8: return .interface
        default: return nil
        }
    }

    /// A struct with these fields: the shorthand the protocol's types are written in.
    public static func structure(_ name: String, _ fields: (String, GobType)...) -> GobType {
        .structure(name: name, fields: fields.map { GobField(name: $0.0, type: $0.1) })
    }
}

public struct GobField: Hashable, Sendable {
    public var name: String
    public var type: GobType
    public init(name: String, type: GobType) {
        self.name = name
        self.type = type
    }
}

/// A value in a gob stream. Struct fields are keyed by name; a field absent from the map is the
/// zero value (gob never sends zero fields).
public indirect enum GobValue: Equatable, Sendable {
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    case bytes([UInt8])
    case string(String)
    case list([GobValue])
    case map([GobMapEntry])
    case structure([String: GobValue])
    /// An interface value: nil, or a registered name with the concrete type and value.
    case interface(GobInterface?)

    /// Convenience readers for decoded values.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .uint(let u): return u <= UInt64(Int64.max) ? Int64(u) : nil
        default: return nil
        }
    }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var bytesValue: [UInt8]? { if case .bytes(let b) = self { return b } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var listValue: [GobValue]? { if case .list(let l) = self { return l } else { return nil } }
    public subscript(field: String) -> GobValue? {
        if case .structure(let f) = self { return f[field] } else { return nil }
    }
}

public struct GobMapEntry: Equatable, Sendable {
    public var key: GobValue
    public var value: GobValue
    public init(key: GobValue, value: GobValue) {
        self.key = key
        self.value = value
    }
}

public struct GobInterface: Equatable, Sendable {
    /// The name the concrete type was registered under in Go (`gob.Register`): "string", "int",
    /// "[]string", "*mcnflag.StringFlag", ...
    public var name: String
    public var type: GobType
    public var value: GobValue
    public init(name: String, type: GobType, value: GobValue) {
        self.name = name
        self.type = type
        self.value = value
    }
}

/// What reading or writing a gob stream can fail with.
public enum GobError: Error, Equatable, Sendable {
    /// The stream ended inside a message or a value.
    case truncated
    /// The bytes do not follow the format (the detail names what was expected).
    case corrupt(String)
    /// A type id that no definition in the stream introduced.
    case unknownType(Int)
    /// A value does not fit the type it is written as.
    case mismatch(String)
    /// Part of gob this implementation leaves out (GobEncoder types, complex numbers).
    case unsupported(String)
}
