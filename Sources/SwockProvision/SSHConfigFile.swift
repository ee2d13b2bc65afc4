import Foundation
import SwockStore
import SwockSupport

/// What OpenSSH's client configuration (ssh_config(5), `~/.ssh/config`) says about one host, for
/// the settings `create` honours: HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump.
///
/// Our own reader, not libssh's: `ssh_options_parse_config` applies the file to a session but does
/// not give back IdentitiesOnly, and turns ProxyJump into a ProxyCommand; create needs the
/// resolved values themselves, to keep them in the record (so later commands do not change when
/// the file does). As OpenSSH: keywords are case-insensitive, `keyword value` or `keyword=value`,
/// the first value obtained for a keyword wins, `Host` patterns take `*`, `?` and `!negation`,
/// `Match all` and `Match host PATTERNS` are understood (any other `Match` block is not applied),
/// `Include` reads files (globs; relative to ~/.ssh), `%h %n %p %r %u %d %%` and `~` are expanded.
public struct SSHConfigFile: Sendable {
    public struct Resolved: Equatable, Sendable {
        public var hostName: String?
        public var user: String?
        public var port: Int?
        /// The first IdentityFile, tokens and `~` expanded.
        public var identityFile: String?
        public var identitiesOnly: Bool?
        /// ProxyJump's value as written (`none` is returned as nil with `proxyJumpNone`).
        public var proxyJump: String?
        /// `ProxyJump none`: no bastion, even if a later block names one.
        public var proxyJumpNone = false

        public init(
            hostName: String? = nil, user: String? = nil, port: Int? = nil, identityFile: String? = nil,
            identitiesOnly: Bool? = nil, proxyJump: String? = nil, proxyJumpNone: Bool = false
        ) {
            self.hostName = hostName
            self.user = user
            self.port = port
            self.identityFile = identityFile
            self.identitiesOnly = identitiesOnly
            self.proxyJump = proxyJump
            self.proxyJumpNone = proxyJumpNone
        }

        public var isEmpty: Bool { self == Resolved() }
    }

    public struct Invalid: CodedError, Equatable {
        public var code: ErrorCode { "provision.ssh-config-invalid" }
        public var file: String
        public var line: Int
        public var problem: String
        public init(file: String, line: Int, problem: String) {
            self.file = file
            self.line = line
            self.problem = problem
        }
        public var description: String { "ssh config \(file) line \(line): \(problem)" }
    }

    /// The file's text and how to read `Include`d files (path -> text; nil: not there).
    public var path: String
    public var text: String
    public var home: String
    public var localUser: String
    public var read: @Sendable (String) -> String?
    public var glob: @Sendable (String) -> [String]

    public init(
        path: String, text: String, home: String, localUser: String,
        read: @escaping @Sendable (String) -> String? = { p in
            FileManager.default.contents(atPath: p).map { String(decoding: $0, as: UTF8.self) }
        },
        glob: @escaping @Sendable (String) -> [String] = SSHConfigFile.expandGlob
    ) {
        self.path = path
        self.text = text
        self.home = home
        self.localUser = localUser
        self.read = read
        self.glob = glob
    }

    /// The settings for `host` (the name as given, e.g. an alias), with the `%` tokens of
    /// IdentityFile expanded for `user`/`port` when the file does not give them.
    public func resolve(host: String, defaultUser: String = "root", defaultPort: Int = 22) throws(Invalid) -> Resolved {
        var out = Resolved()
        var seen = Set<String>()
        try apply(text: text, file: path, host: host.lowercased(), into: &out, seen: &seen, depth: 0)
        if let h = out.hostName { out.hostName = Self.expand(h, tokens: ["h": host, "n": host, "%": "%"]) }
        if let f = out.identityFile {
            let tokens: [Character: String] = [
                "d": home, "u": localUser, "h": out.hostName ?? host, "n": host,
                "r": out.user ?? defaultUser, "p": String(out.port ?? defaultPort), "%": "%",
            ]
            var p = Self.expand(f, tokens: tokens)
            if p == "~" { p = home } else if p.hasPrefix("~/") { p = home + p.dropFirst() }
            out.identityFile = p
        }
        return out
    }

    private func apply(text: String, file: String, host: String, into out: inout Resolved, seen: inout Set<String>, depth: Int)
        throws(Invalid)
    {
        guard depth < 16 else { throw Invalid(file: file, line: 0, problem: "Include nests more than 16 deep") }
        var active = true
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let (keyword, args) = Self.split(line) else {
                throw Invalid(file: file, line: lineNo, problem: "unbalanced quotes")
            }
            switch keyword {
            case "host":
                guard !args.isEmpty else { throw Invalid(file: file, line: lineNo, problem: "Host without a pattern") }
                active = Self.matches(host, patterns: args)
            case "match":
                active = Self.matchBlock(host, args)
            case "include":
                guard active else { continue }
                for pattern in args {
                    let full =
                        pattern.hasPrefix("/")
                        ? pattern
                        : pattern.hasPrefix("~/") ? home + pattern.dropFirst() : home + "/.ssh/" + pattern
                    for p in glob(full) {
                        guard let t = read(p) else { continue }
                        try apply(text: t, file: p, host: host, into: &out, seen: &seen, depth: depth + 1)
                    }
                }
            default:
                guard active, let value = args.first else { continue }
                // The first obtained value wins (IdentityFile too: the record keeps one key).
                guard !seen.contains(keyword) else { continue }
                switch keyword {
                case "hostname": out.hostName = value
                case "user": out.user = value
                case "port":
                    guard let n = Int(value), (1...65535).contains(n) else {
                        throw Invalid(file: file, line: lineNo, problem: "Port \"\(value)\" is not a port number (1-65535)")
                    }
                    out.port = n
                case "identityfile":
                    if value.lowercased() == "none" { seen.insert(keyword); continue }
                    out.identityFile = value
                case "identitiesonly":
                    switch value.lowercased() {
                    case "yes": out.identitiesOnly = true
                    case "no": out.identitiesOnly = false
                    default: throw Invalid(file: file, line: lineNo, problem: "IdentitiesOnly \"\(value)\": expected yes or no")
                    }
                case "proxyjump":
                    if value.lowercased() == "none" { out.proxyJumpNone = true } else { out.proxyJump = args.joined(separator: ",") }
                default: continue
                }
                seen.insert(keyword)
            }
        }
    }

    /// `keyword args...` or `keyword=args` (one `=` with optional blanks around it), the keyword
    /// lowercased, double quotes grouping words and removed; nil for unbalanced quotes.
    static func split(_ line: String) -> (String, [String])? {
        guard let end = line.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "=" }) else { return (line.lowercased(), []) }
        let keyword = line[..<end].lowercased()
        var rest = line[end...].drop(while: { $0 == " " || $0 == "\t" })
        if rest.hasPrefix("=") { rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" }) }
        var args: [String] = []
        var current = ""
        var inQuote = false, hasWord = false
        for ch in rest {
            if ch == "\"" { inQuote.toggle(); hasWord = true; continue }
            if !inQuote && (ch == " " || ch == "\t") {
                if hasWord { args.append(current); current = ""; hasWord = false }
                continue
            }
            current.append(ch)
            hasWord = true
        }
        if inQuote { return nil }
        if hasWord { args.append(current) }
        return (keyword, args)
    }

    /// `Host` patterns: a negated pattern that matches excludes the host, else any positive one matches.
    static func matches(_ host: String, patterns: [String]) -> Bool {
        var positive = false
        for p in patterns.flatMap({ $0.split(separator: ",").map(String.init) }) {
            if p.hasPrefix("!") {
                if wildcard(String(p.dropFirst()).lowercased(), host) { return false }
            } else if wildcard(p.lowercased(), host) {
                positive = true
            }
        }
        return positive
    }

    /// `Match all` and `Match host P[,P]`; any other criterion: the block is not applied.
    static func matchBlock(_ host: String, _ args: [String]) -> Bool {
        let lowered = args.map { $0.lowercased() }
        if lowered == ["all"] { return true }
        if lowered.count == 2 && lowered[0] == "host" { return matches(host, patterns: [args[1]]) }
        return false
    }

    /// `*` any run, `?` one character.
    static func wildcard(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    static func expand(_ text: String, tokens: [Character: String]) -> String {
        var out = ""
        var it = text.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let t = it.next() else { out.append("%"); break }
            if let v = tokens[t] { out += v } else { out.append("%"); out.append(t) }
        }
        return out
    }

    public static func expandGlob(_ pattern: String) -> [String] {
        guard pattern.contains(where: { "*?[".contains($0) }) else { return [pattern] }
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}

extension SSHConfigFile {
    /// Loads `path` (nil when it does not exist and `mustExist` is false).
    public static func load(path: String, mustExist: Bool, home: String, localUser: String) throws -> SSHConfigFile? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !mustExist && !FileManager.default.fileExists(atPath: path) { return nil }
            throw LoadError(path: path, exists: FileManager.default.fileExists(atPath: path))
        }
        return SSHConfigFile(path: path, text: String(decoding: data, as: UTF8.self), home: home, localUser: localUser)
    }

    public struct LoadError: CodedError, Equatable {
        public var code: ErrorCode { "provision.ssh-config-unreadable" }
        public var path: String
        public var exists: Bool
        public init(path: String, exists: Bool) {
            self.path = path
            self.exists = exists
        }
        public var description: String {
            "ssh config \(path): \(exists ? "cannot read it" : "no such file")"
        }
    }

    /// ProxyJump's hops with each hop's own Host entry applied (HostName, User, Port), as ssh does
    /// when it connects to a hop; a hop's explicit user or port wins.
    public func resolveHops(_ hops: [JumpHost]) throws(Invalid) -> [JumpHost] {
        var out: [JumpHost] = []
        for hop in hops {
            let r = try resolve(host: hop.host)
            out.append(JumpHost(user: hop.user ?? r.user, host: r.hostName ?? hop.host, port: hop.port != 22 ? hop.port : (r.port ?? 22)))
        }
        return out
    }
}
