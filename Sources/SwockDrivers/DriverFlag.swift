import Foundation

/// One flag a driver takes at `create -d NAME` (libmachine's `mcnflag.Flag`): built-in drivers
/// declare theirs as values, plugins answer GetCreateFlags at run time, so the create command
/// parses every driver's flags from these descriptions (`DriverFlagParser`), never statically.
public struct DriverFlag: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case string
        case int
        case bool
        /// Repeatable: each occurrence adds one value (mcnflag.StringSliceFlag).
        case stringSlice = "string-slice"
    }

    /// Without the leading dashes: "qemu-cpus", "url".
    public var name: String
    public var usage: String
    /// The environment variable read when the flag is not given (libmachine's EnvVar).
    public var envVar: String?
    public var kind: Kind
    /// Used when neither the flag nor its variable is given; nil: no value.
    public var defaultValue: DriverFlagValue?

    public init(name: String, usage: String, envVar: String? = nil, kind: Kind, defaultValue: DriverFlagValue? = nil) {
        self.name = name
        self.usage = usage
        self.envVar = envVar
        self.kind = kind
        self.defaultValue = defaultValue
    }
}

public enum DriverFlagValue: Sendable, Equatable, Codable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
}

/// The driver flags of one create: every declared flag that has a value (given, from its
/// variable, or its default), and which of them were given on the command line.
public struct DriverFlagValues: Sendable, Equatable {
    public var values: [String: DriverFlagValue]
    public var given: Set<String>

    public init(values: [String: DriverFlagValue] = [:], given: Set<String> = []) {
        self.values = values
        self.given = given
    }

    public func string(_ name: String) -> String? {
        if case .string(let s)? = values[name] { return s }
        return nil
    }
    public func int(_ name: String) -> Int? {
        if case .int(let i)? = values[name] { return i }
        return nil
    }
    public func bool(_ name: String) -> Bool {
        if case .bool(let b)? = values[name] { return b }
        return false
    }
    public func strings(_ name: String) -> [String] {
        if case .strings(let a)? = values[name] { return a }
        return []
    }
}

/// Parses `create`'s driver flags (the words ArgumentParser did not know) against a driver's
/// declared flags, and renders them for `create -d NAME --help`.
public enum DriverFlagParser {
    /// - Returns: the values, and the words that are not flags (the machine name).
    /// - Throws: `DriverError.unknownFlag` for a flag the driver does not declare,
    ///   `.badFlagValue` for a value of the wrong kind, `.flagNeedsValue` for a flag at the end.
    public static func parse(
        _ words: [String], flags: [DriverFlag], driver: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws(DriverError) -> (values: DriverFlagValues, operands: [String])
    {
        let byName = Dictionary(flags.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out = DriverFlagValues()
        var operands: [String] = []
        var i = 0
        var onlyOperands = false
        while i < words.count {
            let w = words[i]
            i += 1
            if onlyOperands || !w.hasPrefix("-") || w == "-" { operands.append(w); continue }
            if w == "--" { onlyOperands = true; continue }
            var name = String(w.drop(while: { $0 == "-" }))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let flag = byName[name] else {
                throw .unknownFlag(driver: driver, flag: "--" + name, known: flags.map { "--" + $0.name })
            }
            let text: String
            if flag.kind == .bool {
                text = inline ?? "true"
            } else if let inline {
                text = inline
            } else {
                guard i < words.count else { throw .flagNeedsValue(driver: driver, flag: "--" + name) }
                text = words[i]
                i += 1
            }
            let value = try Self.value(text, of: flag, driver: driver, source: "--" + name)
            if case .strings(let more) = value, case .strings(let had)? = out.values[name], out.given.contains(name) {
                out.values[name] = .strings(had + more)
            } else {
                out.values[name] = value
            }
            out.given.insert(name)
        }
        for flag in flags where !out.given.contains(flag.name) {
            if let v = flag.envVar, let text = environment[v], !text.isEmpty {
                out.values[flag.name] = try Self.value(text, of: flag, driver: driver, source: v)
            } else if let d = flag.defaultValue {
                out.values[flag.name] = d
            }
        }
        return (out, operands)
    }

    static func value(_ text: String, of flag: DriverFlag, driver: String, source: String) throws(DriverError) -> DriverFlagValue {
        switch flag.kind {
        case .string: return .string(text)
        case .stringSlice: return .strings([text])
        case .int:
            guard let n = Int(text) else { throw .badFlagValue(driver: driver, flag: source, value: text, expected: "a whole number") }
            return .int(n)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: throw .badFlagValue(driver: driver, flag: source, value: text, expected: "true or false")
            }
        }
    }

    /// The flags as `--help` lists them: one line each (the usage, its variable and default).
    public static func help(_ flags: [DriverFlag]) -> String {
        let heads = flags.map { f -> String in
            switch f.kind {
            case .bool: return "--\(f.name)"
            case .int: return "--\(f.name) <int>"
            case .string: return "--\(f.name) <string>"
            case .stringSlice: return "--\(f.name) <string> (repeatable)"
            }
        }
        let width = min(40, (heads.map(\.count).max() ?? 0) + 2)
        return zip(flags, heads).map { f, head in
            var extra: [String] = []
            if let v = f.envVar, !v.isEmpty { extra.append("env: \(v)") }
            switch f.defaultValue {
            case .string(let s)? where !s.isEmpty: extra.append("default: \(s)")
            case .int(let n)?: extra.append("default: \(n)")
            case .bool(true)?: extra.append("default: true")
            case .strings(let a)? where !a.isEmpty: extra.append("default: \(a.joined(separator: ","))")
            default: break
            }
            let usage = f.usage + (extra.isEmpty ? "" : " (\(extra.joined(separator: "; ")))")
            let pad = head.count < width ? String(repeating: " ", count: width - head.count) : "\n  " + String(repeating: " ", count: width)
            return "  " + head + pad + usage
        }.joined(separator: "\n")
    }
}
