import Foundation

/// The text of a JSON object, edited one top-level member at a time: every byte of every other
/// member (order, spacing, number spelling) stays as it was. Keys match as the docker CLI's Go
/// decoder matches them: case-insensitively, the last duplicate winning.
struct JSONObjectText {
    struct ParseError: Error { var reason: String }

    struct Member {
        var lead: String  // whitespace before the key
        var key: String  // decoded
        var keyRaw: String
        var sep: String  // whitespace, ':', whitespace
        var value: String  // raw JSON
        var trail: String  // whitespace after the value
    }

    var prefix = ""
    var inner = ""  // whitespace inside an empty object
    var members: [Member] = []
    var suffix = ""

    static var empty: JSONObjectText { JSONObjectText(prefix: "", inner: "", members: [], suffix: "\n") }

    private init(prefix: String, inner: String, members: [Member], suffix: String) {
        self.prefix = prefix; self.inner = inner; self.members = members; self.suffix = suffix
    }

    init(parsing data: Data) throws {
        let b = [UInt8](data)
        // An empty (or all-blank) file counts as {}.
        if b.allSatisfy({ Self.isSpace($0) }) { self = .empty; return }
        let top: Any
        do { top = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) } catch {
            throw ParseError(reason: "not valid JSON")
        }
        guard top is [String: Any] else { throw ParseError(reason: "not a JSON object") }

        func text(_ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }
        func skipSpace(_ i: Int) -> Int { var i = i; while i < b.count, Self.isSpace(b[i]) { i += 1 }; return i }
        func endOfString(_ i: Int) throws -> Int {
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw ParseError(reason: "expected a string") }
            var j = i + 1
            while j < b.count {
                if b[j] == UInt8(ascii: "\\") { j += 2; continue }
                if b[j] == UInt8(ascii: "\"") { return j + 1 }
                j += 1
            }
            throw ParseError(reason: "unterminated string")
        }
        func endOfValue(_ i: Int) throws -> Int {
            guard i < b.count else { throw ParseError(reason: "missing value") }
            switch b[i] {
            case UInt8(ascii: "\""): return try endOfString(i)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0, j = i
                while j < b.count {
                    switch b[j] {
                    case UInt8(ascii: "\""): j = try endOfString(j); continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { return j + 1 }
                    default: break
                    }
                    j += 1
                }
                throw ParseError(reason: "unbalanced brackets")
            default:
                var j = i
                while j < b.count, !Self.isSpace(b[j]), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(b[j]) { j += 1 }
                return j
            }
        }

        var i = skipSpace(0)
        guard i < b.count, b[i] == UInt8(ascii: "{") else { throw ParseError(reason: "not a JSON object") }
        prefix = text(0..<i)
        i += 1
        let afterBrace = i
        i = skipSpace(i)
        if i < b.count, b[i] == UInt8(ascii: "}") {
            inner = text(afterBrace..<i)
            suffix = text((i + 1)..<b.count)
            return
        }
        var leadStart = afterBrace
        while true {
            let keyStart = skipSpace(leadStart)
            let keyEnd = try endOfString(keyStart)
            let colon = skipSpace(keyEnd)
            guard colon < b.count, b[colon] == UInt8(ascii: ":") else { throw ParseError(reason: "expected ':'") }
            let valueStart = skipSpace(colon + 1)
            let valueEnd = try endOfValue(valueStart)
            let next = skipSpace(valueEnd)
            let keyRaw = text(keyStart..<keyEnd)
            guard let key = try? JSONSerialization.jsonObject(with: Data(keyRaw.utf8), options: .fragmentsAllowed) as? String else {
                throw ParseError(reason: "bad key \(keyRaw)")
            }
            members.append(
                Member(
                    lead: text(leadStart..<keyStart), key: key, keyRaw: keyRaw,
                    sep: text(keyEnd..<valueStart), value: text(valueStart..<valueEnd),
                    trail: text(valueEnd..<next)))
            guard next < b.count else { throw ParseError(reason: "unterminated object") }
            if b[next] == UInt8(ascii: ",") { leadStart = next + 1; continue }
            guard b[next] == UInt8(ascii: "}") else { throw ParseError(reason: "expected ',' or '}'") }
            suffix = text((next + 1)..<b.count)
            return
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d }

    static func sameKey(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }

    var text: String {
        if members.isEmpty { return prefix + "{" + inner + "}" + suffix }
        return prefix + "{" + members.map { $0.lead + $0.keyRaw + $0.sep + $0.value + $0.trail }.joined(separator: ",") + "}" + suffix
    }

    /// The raw JSON value of the last member named `key`.
    func lastValue(of key: String) -> String? {
        members.last { Self.sameKey($0.key, key) }?.value
    }

    /// Sets every member named `key` to `jsonValue`, or appends one styled like its neighbours.
    mutating func set(_ key: String, jsonValue: String) {
        var found = false
        for i in members.indices where Self.sameKey(members[i].key, key) {
            members[i].value = jsonValue
            found = true
        }
        if found { return }
        var m = Member(
            lead: members.first?.lead ?? "\n\t", key: key, keyRaw: DockerContexts.jsonString(key),
            sep: members.first?.sep ?? ": ", value: jsonValue, trail: "\n")
        if !members.isEmpty {
            m.trail = members[members.count - 1].trail
            members[members.count - 1].trail = ""
        }
        members.append(m)
    }

    /// Removes every member named `key`.
    mutating func remove(_ key: String) {
        guard members.contains(where: { Self.sameKey($0.key, key) }) else { return }
        let closing = members.last?.trail ?? ""
        members.removeAll { Self.sameKey($0.key, key) }
        if members.isEmpty {
            inner = ""
        } else {
            members[members.count - 1].trail = closing
        }
    }
}
