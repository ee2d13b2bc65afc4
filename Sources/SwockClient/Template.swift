import Foundation
import SwockSupport

/// The template language of `--format` / `-f`, the part of Go's text/template that Docker Machine
/// and docker CLI users write: fields (`{{.Name}}`, `{{.Engine.Version}}`, `{{.}}`), string and
/// number arguments, pipelines (`{{.Name | upper}}`), parentheses, `{{-`/`-}}` trimming, and the
/// functions of Docker Machine (`json`, `prettyjson`) and of the docker CLI (`json`, `upper`,
/// `lower`, `title`, `join`, `split`, `pad`, `truncate`, `println`) plus Go's `index` and `len`.
/// `\t` and `\n` in the text are tabs and newlines. Control structures (`range`, `if`) are not
/// part of it, and it says so.
public struct Template: Sendable, Equatable {
    indirect enum Node: Equatable, Sendable {
        case field([String])  // [] is `.`
        case string(String)
        case int(Int)
        case bool(Bool)
        case null
        case function(String)
        case pipeline([[Node]])  // commands joined by |, each command a list of operands
    }

    enum Piece: Equatable, Sendable {
        case literal(String)
        case action([[Node]], source: String)
    }

    let pieces: [Piece]

    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The functions, with how many arguments each takes (a piped value counts as the last).
    static let functions: [String: ClosedRange<Int>] = [
        "json": 1...1, "prettyjson": 1...1, "upper": 1...1, "lower": 1...1, "title": 1...1,
        "join": 2...2, "split": 2...2, "pad": 3...3, "truncate": 2...2, "println": 0...16,
        "index": 1...16, "len": 1...1,
    ]
    static var functionList: String { functions.keys.sorted().joined(separator: ", ") }

    public init(_ text: String) throws {
        var pieces: [Piece] = []
        var rest = Substring(text)
        var trimNextLiteral = false
        while let open = rest.range(of: "{{") {
            var literal = String(rest[..<open.lowerBound])
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else {
                throw Error(description: "template: \"{{\" without a closing \"}}\"")
            }
            var inner = Substring(rest[open.upperBound..<close.lowerBound])
            if inner.hasPrefix("- ") || inner == "-" {
                literal = String(literal.reversed().drop(while: \.isWhitespace).reversed())
                inner = inner.dropFirst()
            }
            if trimNextLiteral { literal = String(literal.drop(while: \.isWhitespace)) }
            trimNextLiteral = inner.hasSuffix(" -")
            if trimNextLiteral { inner = inner.dropLast() }
            if !literal.isEmpty { pieces.append(.literal(Self.unescape(literal))) }
            let source = inner.trimmingCharacters(in: .whitespaces)
            pieces.append(.action(try Self.parseAction(source), source: source))
            rest = rest[close.upperBound...]
        }
        var tail = String(rest)
        if trimNextLiteral { tail = String(tail.drop(while: \.isWhitespace)) }
        if !tail.isEmpty { pieces.append(.literal(Self.unescape(tail))) }
        self.pieces = pieces
    }

    /// The field paths used, in order (`Engine.Version`; `.` itself is left out).
    public var fields: [String] {
        var out: [String] = []
        func walk(_ n: Node) {
            switch n {
            case .field(let p) where !p.isEmpty: out.append(p.joined(separator: "."))
            case .pipeline(let cmds): cmds.joined().forEach(walk)
            default: break
            }
        }
        for case .action(let cmds, _) in pieces { cmds.joined().forEach(walk) }
        return out
    }

    /// Renders with flat `Dotted.Key` values (see `TemplateValue.fromFlat`).
    public func render(_ values: [String: String]) throws -> String {
        try render(TemplateValue.fromFlat(values))
    }

    public func render(_ data: TemplateValue) throws -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .literal(let s): out += s
            case .action(let cmds, _): out += try Self.evaluate(pipeline: cmds, data: data).printed
            }
        }
        return out
    }

    /// The header line of a `table` format: each action becomes the header of the first field it
    /// names (`{{.Name | upper}}` → `header("Name")`), the text between actions stays.
    public func renderHeader(_ header: (String) -> String) -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .literal(let s): out += s
            case .action(let cmds, _):
                let single = Template(pieces: [.action(cmds, source: "")])
                out += single.fields.first.map(header) ?? ""
            }
        }
        return out
    }

    private init(pieces: [Piece]) { self.pieces = pieces }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
    }

    // MARK: - Parsing an action

    enum Token: Equatable {
        case field([String]), string(String), int(Int), word(String), bar, open, close
    }

    static func parseAction(_ source: String) throws -> [[Node]] {
        let tokens = try tokenize(source)
        var i = 0
        let cmds = try parsePipeline(tokens, &i, source: source)
        if i < tokens.count { throw Error(description: "template: unexpected \")\" in \"{{\(source)}}\"") }
        return cmds
    }

    private static func parsePipeline(_ t: [Token], _ i: inout Int, source: String) throws -> [[Node]] {
        var cmds: [[Node]] = []
        var cmd: [Node] = []
        func endCommand() throws {
            guard !cmd.isEmpty else { throw Error(description: "template: missing value in \"{{\(source)}}\"") }
            cmds.append(cmd)
            cmd = []
        }
        loop: while i < t.count {
            switch t[i] {
            case .close: break loop
            case .bar: try endCommand()
            case .open:
                i += 1
                cmd.append(.pipeline(try parsePipeline(t, &i, source: source)))
                guard i < t.count, t[i] == .close else { throw Error(description: "template: unclosed \"(\" in \"{{\(source)}}\"") }
            case .field(let p): cmd.append(.field(p))
            case .string(let s): cmd.append(.string(s))
            case .int(let n): cmd.append(.int(n))
            case .word(let w):
                switch w {
                case "true": cmd.append(.bool(true))
                case "false": cmd.append(.bool(false))
                case "nil": cmd.append(.null)
                case "range", "if", "else", "end", "with", "define", "template", "block", "break", "continue":
                    throw Error(
                        description:
                            "template: \"{{\(source)}}\": \(w) is not supported here; use fields, pipelines and the functions \(functionList)"
                    )
                case _ where functions[w] != nil: cmd.append(.function(w))
                default:
                    throw Error(
                        description: "template: function \"\(w)\" not defined in \"{{\(source)}}\"; the functions are \(functionList)")
                }
            }
            i += 1
        }
        try endCommand()
        for (n, c) in cmds.enumerated() {
            // A command is one value, or a function and its arguments; a piped value must go
            // into a function.
            if case .function = c[0] { continue }
            if c.count > 1 || n > 0 {
                throw Error(
                    description:
                        "template: \"{{\(source)}}\" is not a field or a function call; write {{.Name}}, {{FUNCTION ARGS}} or {{.Name | FUNCTION}}"
                )
            }
        }
        return cmds
    }

    static func tokenize(_ s: String) throws -> [Token] {
        var out: [Token] = []
        let chars = Array(s)
        var i = 0
        func bad() -> Error {
            Error(
                description:
                    "template: \"{{\(s)}}\" is not a field; write fields as {{.Name}} (or {{.Name | FUNCTION}}, {{FUNCTION .Name ARGS}})")
        }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" { i += 1; continue }
            switch c {
            case "|": out.append(.bar); i += 1
            case "(": out.append(.open); i += 1
            case ")": out.append(.close); i += 1
            case ".":
                var j = i + 1
                var path: [String] = []
                var part = ""
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" || chars[j] == "." || chars[j] == "-" {
                    if chars[j] == "." {
                        guard !part.isEmpty else { throw bad() }
                        path.append(part); part = ""
                    } else {
                        part.append(chars[j])
                    }
                    j += 1
                }
                if !part.isEmpty { path.append(part) } else if !path.isEmpty { throw bad() }
                if j < chars.count, !" \t|()".contains(chars[j]) { throw bad() }
                out.append(.field(path)); i = j
            case "\"":
                var j = i + 1
                var value = ""
                while true {
                    guard j < chars.count else { throw Error(description: "template: unterminated quoted string in \"{{\(s)}}\"") }
                    let d = chars[j]
                    if d == "\"" { break }
                    if d == "\\", j + 1 < chars.count {
                        j += 1
                        switch chars[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: throw Error(description: "template: unknown escape \\\(chars[j]) in \"{{\(s)}}\"")
                        }
                    } else {
                        value.append(d)
                    }
                    j += 1
                }
                out.append(.string(value)); i = j + 1
            case "`":
                guard let end = chars[(i + 1)...].firstIndex(of: "`") else {
                    throw Error(description: "template: unterminated raw string in \"{{\(s)}}\"")
                }
                out.append(.string(String(chars[(i + 1)..<end]))); i = end + 1
            case _ where c.isNumber || c == "-":
                var j = i + 1
                while j < chars.count, chars[j].isNumber { j += 1 }
                guard let n = Int(String(chars[i..<j])) else { throw bad() }
                out.append(.int(n)); i = j
            case _ where c.isLetter:
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                out.append(.word(String(chars[i..<j]))); i = j
            default: throw bad()
            }
        }
        return out
    }

    // MARK: - Evaluating

    static func evaluate(pipeline cmds: [[Node]], data: TemplateValue) throws -> TemplateValue {
        var piped: TemplateValue?
        for cmd in cmds {
            var args = try cmd.dropFirst().map { try evaluate(node: $0, data: data) }
            guard case .function(let name) = cmd[0] else {
                piped = try evaluate(node: cmd[0], data: data)
                continue
            }
            if let piped { args.append(piped) }
            piped = try call(name, args)
        }
        return piped ?? .null
    }

    static func evaluate(node: Node, data: TemplateValue) throws -> TemplateValue {
        switch node {
        case .field(let path): return try lookup(path, in: data, root: data)
        case .string(let s): return .string(s)
        case .int(let n): return .int(n)
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .function(let name): return try call(name, [])
        case .pipeline(let cmds): return try evaluate(pipeline: cmds, data: data)
        }
    }

    /// A dotted path; at a map the longest key that matches wins, so a label named
    /// `com.example.env` is `{{.Labels.com.example.env}}`.
    static func lookup(_ path: [String], in value: TemplateValue, root: TemplateValue) throws -> TemplateValue {
        if path.isEmpty { return value }
        if case .map(let m, _) = value {
            for n in stride(from: path.count, through: 1, by: -1) {
                if let child = m[path[..<n].joined(separator: ".")] {
                    return try lookup(Array(path[n...]), in: child, root: root)
                }
            }
        }
        let known = root.flattened.keys.sorted().map { "." + $0 }.joined(separator: " ")
        throw Error(description: "template: unknown field .\(path.joined(separator: ".")); known fields: \(known)")
    }

    static func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue {
        guard let arity = functions[name], arity.contains(args.count) else {
            throw Error(
                description:
                    "template: wrong number of arguments for \(name): got \(args.count), want \(functions[name].map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound) to \($0.upperBound)" } ?? "?")"
            )
        }
        func text(_ v: TemplateValue) throws -> String {
            guard case .string(let s) = v else {
                throw Error(description: "template: \(name) wants text, got \(v.json())")
            }
            return s
        }
        func number(_ v: TemplateValue) throws -> Int {
            switch v {
            case .int(let n): return n
            case .string(let s) where Int(s) != nil: return Int(s)!
            default: throw Error(description: "template: \(name) wants a number, got \(v.json())")
            }
        }
        switch name {
        case "json": return .string(args[0].json())
        case "prettyjson": return .string(args[0].json(indent: "    "))
        case "upper": return .string(try text(args[0]).uppercased())
        case "lower": return .string(try text(args[0]).lowercased())
        case "title": return .string(title(try text(args[0])))
        case "split":
            let parts = try text(args[0]).components(separatedBy: try text(args[1]))
            return .list(parts.map { .string($0) })
        case "join":
            guard case .list(let items, _) = args[0] else {
                throw Error(description: "template: join wants a list, got \(args[0].json())")
            }
            return .string(items.map(\.printed).joined(separator: try text(args[1])))
        case "pad":
            let s = args[0].printed
            let before = try number(args[1]), after = try number(args[2])
            return .string(String(repeating: " ", count: max(before, 0)) + s + String(repeating: " ", count: max(after, 0)))
        case "truncate":
            let s = args[0].printed
            let n = try number(args[1])
            return .string(s.count > n ? String(s.prefix(max(n, 0))) : s)
        case "println": return .string(args.map(\.printed).joined(separator: " ") + "\n")
        case "len":
            switch args[0] {
            case .string(let s): return .int(s.utf8.count)
            case .list(let l, _): return .int(l.count)
            case .map(let m, _): return .int(m.count)
            default: throw Error(description: "template: len of \(args[0].json())")
            }
        case "index":
            var v = args[0]
            for key in args.dropFirst() {
                switch (v, key) {
                case (.map(let m, _), .string(let k)): v = m[k] ?? .null
                case (.list(let l, _), .int(let n)):
                    guard l.indices.contains(n) else { throw Error(description: "template: index out of range: \(n)") }
                    v = l[n]
                default: throw Error(description: "template: cannot index \(v.json()) with \(key.json())")
                }
            }
            return v
        default:
            throw Error(description: "template: function \"\(name)\" not defined")
        }
    }

    /// The docker CLI's `title` (`cases.Title` with `NoLower`): the first letter of each word
    /// becomes upper case, nothing else changes; an apostrophe does not start a word.
    static func title(_ s: String) -> String {
        var out = ""
        var previous: Character = " "
        for c in s {
            let inWord = previous.isLetter || previous.isNumber || previous == "_" || previous == "'" || previous == "’"
            out += inWord ? String(c) : c.uppercased()
            previous = c
        }
        return out
    }
}

/// Column alignment like Go's tabwriter (minwidth 0, padding 1+): cells split on tabs.
public enum TableLayout {
    public static func render(_ rows: [[String]], padding: Int = 3) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            // Padded by hand: NSString's padding(toLength:) cost a listing of 1,000 machines 6% of its time.
            var line = ""
            for (i, c) in r.enumerated() {
                line += c
                if i < r.count - 1 { line += String(repeating: " ", count: widths[i] + padding - c.count) }
            }
            while line.last?.isWhitespace == true { line.removeLast() }
            return line
        }.joined(separator: "\n") + "\n"
    }
}

extension Template.Error: CodedError {
    public var code: ErrorCode { "client.invalid-template" }
}
