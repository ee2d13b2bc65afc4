import Foundation

/// What a `--format` template sees: the shapes Go's text/template gets from Docker Machine's
/// structs, maps and slices, printed the way Go prints them.
public indirect enum TemplateValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    /// `text`, when set, is what `{{.X}}` prints for the list itself (e.g. SANs joined by commas).
    case list([TemplateValue], text: String? = nil)
    /// Keys print sorted, as Go prints maps. `text`, when set, is what `{{.X}}` prints for the map
    /// itself (`{{.Labels}}` prints `a=1,b=2`; `{{.Driver}}` prints the driver's name).
    case map([String: TemplateValue], text: String? = nil)

    /// `{{.X}}`: Go's `%v` of the value (`<no value>` for nil, `[a b]` for a list, `map[k:v]`).
    public var printed: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "<no value>"
        case .list(let items, let text): return text ?? "[" + items.map(\.printed).joined(separator: " ") + "]"
        case .map(let m, let text):
            return text ?? "map[" + m.keys.sorted().map { "\($0):\(m[$0]!.printed)" }.joined(separator: " ") + "]"
        }
    }

    /// Encoded as Go's encoding/json does with HTML escaping off (the docker CLI's `json`): map
    /// keys sorted; `indent` given, as `json.MarshalIndent(v, "", indent)` (`prettyjson`).
    public func json(indent: String? = nil) -> String {
        var out = ""
        write(json: &out, indent: indent, depth: 0)
        return out
    }

    private func write(json out: inout String, indent: String?, depth: Int) {
        func newline(_ d: Int) {
            guard let indent else { return }
            out += "\n" + String(repeating: indent, count: d)
        }
        switch self {
        case .string(let s): out += Self.quoted(s)
        case .int(let i): out += String(i)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .list(let items, _):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                newline(depth + 1)
                v.write(json: &out, indent: indent, depth: depth + 1)
            }
            newline(depth)
            out += "]"
        case .map(let m, _):
            if m.isEmpty { out += "{}"; return }
            out += "{"
            for (i, k) in m.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                newline(depth + 1)
                out += Self.quoted(k) + (indent == nil ? ":" : ": ")
                m[k]!.write(json: &out, indent: indent, depth: depth + 1)
            }
            newline(depth)
            out += "}"
        }
    }

    /// A JSON string as Go writes it: `"`, `\` and control characters escaped, U+2028 and U+2029
    /// too; `<`, `>` and `&` left as they are (SetEscapeHTML(false)).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// Builds the tree from flat `Dotted.Key` names: `Engine.Version` becomes `Engine` → `Version`;
    /// a key that is both a value and a prefix (`Labels` and `Labels.zone`) becomes a map that
    /// prints the value.
    public static func fromFlat(_ values: [String: String]) -> TemplateValue {
        var root: [String: TemplateValue] = [:]
        for key in values.keys.sorted() {
            insert(&root, path: key.split(separator: ".", omittingEmptySubsequences: false).map(String.init), value: values[key]!)
        }
        return .map(root)
    }

    private static func insert(_ m: inout [String: TemplateValue], path: [String], value: String) {
        let head = path[0]
        if path.count == 1 {
            if case .map(let inner, _)? = m[head] { m[head] = .map(inner, text: value) } else { m[head] = .string(value) }
            return
        }
        var inner: [String: TemplateValue] = [:]
        var text: String?
        switch m[head] {
        case .map(let existing, let t)?: inner = existing; text = t
        case .string(let s)?: text = s
        default: break
        }
        insert(&inner, path: Array(path.dropFirst()), value: value)
        m[head] = .map(inner, text: text)
    }

    /// Every path `{{.X.Y}}` can print as text, sorted (for "unknown field" messages), and the
    /// flat view `machineFields` gives.
    public var flattened: [String: String] {
        var out: [String: String] = [:]
        func walk(_ v: TemplateValue, _ path: String) {
            switch v {
            case .map(let m, let text):
                if let text, !path.isEmpty { out[path] = text }
                for (k, c) in m { walk(c, path.isEmpty ? k : path + "." + k) }
            default:
                if !path.isEmpty { out[path] = v.printed }
            }
        }
        walk(self, "")
        return out
    }
}
