/// Response header fields, in order; lookups ignore case.
struct HTTPHeaders: Sendable, Equatable {
    struct Field: Sendable, Equatable {
        var name: String
        var value: String
    }
    var fields: [Field] = []

    init(_ pairs: [(String, String)] = []) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    /// The first value of the field, whatever the case of its name.
    subscript(name: String) -> String? { values(name).first }

    func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    mutating func append(_ name: String, _ value: String) { fields.append(Field(name: name, value: value)) }
}

struct HTTPResponse: Sendable, Equatable {
    var version: String
    var status: Int
    var reason: String
    var headers: HTTPHeaders
    var body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a response could not be parsed.
struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
