import GoRPC

/// One create flag a plugin declares (libmachine's mcnflag.StringFlag, StringSliceFlag, IntFlag,
/// BoolFlag, sent through gob as interface values registered as "*mcnflag.NAME").
public struct PluginFlag: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case string, stringSlice = "string-slice", int, bool
    }
    public var kind: Kind
    /// Without dashes: "generic-ip-address".
    public var name: String
    public var usage: String
    public var envVar: String
    /// The flag's default (mcnflag's Value; BoolFlag has none: false).
    public var defaultValue: PluginFlagValue

    public init(kind: Kind, name: String, usage: String = "", envVar: String = "", defaultValue: PluginFlagValue) {
        self.kind = kind
        self.name = name
        self.usage = usage
        self.envVar = envVar
        self.defaultValue = defaultValue
    }

    /// Reads one element of GetCreateFlags' reply.
    init(_ element: GobValue) throws(PluginFlagReadError) {
        guard case .interface(let iv?) = element else { throw PluginFlagReadError(detail: "a flag that is nil") }
        let v = iv.value
        let name = v["Name"]?.stringValue ?? ""
        guard !name.isEmpty else { throw PluginFlagReadError(detail: "a \(iv.name) without a name") }
        let usage = v["Usage"]?.stringValue ?? ""
        let env = v["EnvVar"]?.stringValue ?? ""
        switch iv.name {
        case "*mcnflag.StringFlag":
            self.init(kind: .string, name: name, usage: usage, envVar: env, defaultValue: .string(v["Value"]?.stringValue ?? ""))
        case "*mcnflag.StringSliceFlag":
            let list = (v["Value"]?.listValue ?? []).compactMap(\.stringValue)
            self.init(kind: .stringSlice, name: name, usage: usage, envVar: env, defaultValue: .strings(list))
        case "*mcnflag.IntFlag":
            self.init(kind: .int, name: name, usage: usage, envVar: env, defaultValue: .int(Int(v["Value"]?.intValue ?? 0)))
        case "*mcnflag.BoolFlag":
            self.init(kind: .bool, name: name, usage: usage, envVar: env, defaultValue: .bool(false))
        default:
            throw PluginFlagReadError(detail: "a flag of unknown type \(iv.name)")
        }
    }
}

struct PluginFlagReadError: Error {
    var detail: String
}

/// A flag's value as it travels in SetConfigFromFlags (an interface value of a basic Go type).
public enum PluginFlagValue: Sendable, Equatable, Codable {
    case string(String)
    case strings([String])
    case int(Int)
    case bool(Bool)

    static let stringSlice = GobType.slice(name: "", elem: .string)

    var gob: GobInterface {
        switch self {
        case .string(let s): return GobInterface(name: "string", type: .string, value: .string(s))
        case .strings(let a): return GobInterface(name: "[]string", type: Self.stringSlice, value: .list(a.map { .string($0) }))
        case .int(let i): return GobInterface(name: "int", type: .int, value: .int(Int64(i)))
        case .bool(let b): return GobInterface(name: "bool", type: .bool, value: .bool(b))
        }
    }
}

/// libmachine's rpcdriver.RPCFlags, the argument of SetConfigFromFlags: a pointer to the
/// drivers.DriverOptions interface holding RPCFlags{Values map[string]interface{}}.
enum RPCFlags {
    static let valuesType = GobType.map(name: "map[string]interface {}", key: .string, elem: .interface)
    static let type = GobType.structure("RPCFlags", ("Values", valuesType))

    /// Keys sorted, so the bytes are the same every time.
    static func argument(_ values: [String: PluginFlagValue]) -> (GobType, GobValue) {
        let entries = values.keys.sorted().map { GobMapEntry(key: .string($0), value: .interface(values[$0]!.gob)) }
        let flags = GobInterface(name: "*rpcdriver.RPCFlags", type: type, value: .structure(["Values": .map(entries)]))
        return (.interface, .interface(flags))
    }
}
