import Foundation

/// A driver's own settings, kept in the record (`config.json`, key `driverOptions`) as a JSON
/// value that nothing but the driver reads. A plugin's are libmachine's `GetConfigRaw` bytes,
/// kept as the JSON they are.
public struct DriverOptions: Codable, Sendable, Equatable {
    public var value: JSONValue

    public init(_ value: JSONValue = .object([:])) { self.value = value }

    /// Encodes a driver's settings type.
    public init<T: Encodable>(encoding settings: T) throws {
        let data = try JSONEncoder().encode(settings)
        self.value = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Decodes a driver's settings type.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: try JSONEncoder().encode(value))
    }

    public init(from decoder: any Decoder) throws { value = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// Any JSON value, kept exactly (object key order is not kept; numbers as Double unless integral).
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
