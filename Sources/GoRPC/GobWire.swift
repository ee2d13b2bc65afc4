/// The types gob streams describe their types with (encoding/gob type.go: wireType and the
/// types it points to), predefined with fixed ids 16 to 23 on both sides.
enum GobWire {
    static let commonType = GobType.structure("CommonType", ("Name", .string), ("Id", .int))
    static let fieldType = GobType.structure("fieldType", ("Name", .string), ("Id", .int))
    static let arrayType = GobType.structure("arrayType", ("CommonType", commonType), ("Elem", .int), ("Len", .int))
    static let sliceType = GobType.structure("sliceType", ("CommonType", commonType), ("Elem", .int))
    static let structType = GobType.structure(
        "structType", ("CommonType", commonType),
        ("Field", .slice(name: "", elem: fieldType)))
    static let mapType = GobType.structure("mapType", ("CommonType", commonType), ("Key", .int), ("Elem", .int))
    static let gobEncoderType = GobType.structure("gobEncoderType", ("CommonType", commonType))
    static let wireType = GobType.structure(
        "wireType", ("ArrayT", arrayType), ("SliceT", sliceType), ("StructT", structType), ("MapT", mapType),
        ("GobEncoderT", gobEncoderType), ("BinaryMarshalerT", gobEncoderType), ("TextMarshalerT", gobEncoderType))

    /// Ids up to this one are Go's own (basic types and the ones above).
    static let lastPredefinedId = 23
    /// The first id Go gives a type of the program's (encoding/gob numbers them per process, in
    /// the order it first needs them; a fresh process starts here).
    static let firstUserId = 65
}

/// A type definition as received, by the ids it refers to (a definition may name types that are
/// defined after it: Go sends a struct before its fields' types).
enum WireDefinition: Equatable {
    case slice(name: String, elem: Int)
    case array(name: String, elem: Int, count: Int)
    case map(name: String, key: Int, elem: Int)
    case structure(name: String, fields: [(name: String, id: Int)])

    static func == (a: WireDefinition, b: WireDefinition) -> Bool {
        switch (a, b) {
        case let (.slice(n1, e1), .slice(n2, e2)): return n1 == n2 && e1 == e2
        case let (.array(n1, e1, c1), .array(n2, e2, c2)): return n1 == n2 && e1 == e2 && c1 == c2
        case let (.map(n1, k1, e1), .map(n2, k2, e2)): return n1 == n2 && k1 == k2 && e1 == e2
        case let (.structure(n1, f1), .structure(n2, f2)):
            return n1 == n2 && f1.map(\.name) == f2.map(\.name) && f1.map(\.id) == f2.map(\.id)
        default: return false
        }
    }

    /// Reads a decoded wireType value.
    init(_ wire: GobValue) throws {
        func common(_ v: GobValue?) -> String { v?["CommonType"]?["Name"]?.stringValue ?? "" }
        func id(_ v: GobValue?, _ field: String) throws -> Int {
            guard let i = v?[field]?.intValue, i >= 0, i < Int(Int32.max) else {
                throw GobError.corrupt("type definition without a valid \(field) id")
            }
            return Int(i)
        }
        if let s = wire["StructT"] {
            var fields: [(name: String, id: Int)] = []
            for f in s["Field"]?.listValue ?? [] {
                fields.append((name: f["Name"]?.stringValue ?? "", id: try id(f, "Id")))
            }
            self = .structure(name: common(s), fields: fields)
        } else if let s = wire["SliceT"] {
            self = .slice(name: common(s), elem: try id(s, "Elem"))
        } else if let a = wire["ArrayT"] {
            self = .array(name: common(a), elem: try id(a, "Elem"), count: try id(a, "Len"))
        } else if let m = wire["MapT"] {
            self = .map(name: common(m), key: try id(m, "Key"), elem: try id(m, "Elem"))
        } else if wire["GobEncoderT"] != nil || wire["BinaryMarshalerT"] != nil || wire["TextMarshalerT"] != nil {
            throw GobError.unsupported("types with their own GobEncode/MarshalBinary/MarshalText encoding")
        } else {
            throw GobError.corrupt("empty type definition")
        }
    }
}
