import Foundation
/// A small template language for `--format` / `-f`: `{{.Field}}` placeholders (dotted paths
/// allowed, e.g. `{{.Engine.Version}}`), `\t` and `\n` escapes, everything else literal. It is not
/// Go's text/template: no pipelines, no functions — and it says so when asked for them.
public struct Template: Sendable, Equatable {
    enum Piece: Equatable, Sendable {
        case literal(String)
        case field(String)
    }

    let pieces: [Piece]

    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public init(_ text: String) throws {
        var pieces: [Piece] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.literal(Self.unescape(String(rest[..<open.lowerBound])))) }
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else {
                throw Error(description: "template: \"{{\" without a closing \"}}\"")
            }
            let inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard inner.hasPrefix("."), inner.count > 1,
                  inner.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }) else {
                throw Error(description: "template: \"{{\(inner)}}\" is not a field; write fields as {{.Name}} (pipelines and functions are not supported)")
            }
            pieces.append(.field(String(inner.dropFirst())))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.literal(Self.unescape(String(rest)))) }
        self.pieces = pieces
    }

    /// The field names used, in order.
    public var fields: [String] {
        pieces.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
    }

    public func render(_ values: [String: String]) throws -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .literal(let s): out += s
            case .field(let f):
                guard let v = values[f] else {
                    throw Error(description: "template: unknown field .\(f); known fields: \(values.keys.sorted().map { "." + $0 }.joined(separator: " "))")
                }
                out += v
            }
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
    }
}

/// Column alignment like Go's tabwriter (minwidth 0, padding 1+): cells split on tabs.
public enum TableLayout {
    public static func render(_ rows: [[String]], padding: Int = 3) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in
                i == r.count - 1 ? c : c.padding(toLength: widths[i] + padding, withPad: " ", startingAt: 0)
            }.joined().replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }
}
