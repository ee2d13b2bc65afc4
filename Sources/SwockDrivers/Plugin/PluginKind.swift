import Foundation
import SwockStore

/// `create -d NAME` for a Docker Machine plugin: any name that is not built in, when
/// `docker-machine-driver-NAME` is on PATH. Its flags are the plugin's (GetCreateFlags).
public struct PluginKind: DriverKind {
    public let name: String
    public let binary: String
    public let timeouts: PluginTimeouts

    public init(name: String, binary: String, timeouts: PluginTimeouts = .fromEnvironment()) {
        self.name = name
        self.binary = binary
        self.timeouts = timeouts
    }

    /// The plugin called `name` on PATH, or nil.
    public static func onPath(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> PluginKind? {
        guard let binary = try? PluginDriver.locate(name, path: path) else { return nil }
        return PluginKind(name: name, binary: binary)
    }

    public var summary: String { "Docker Machine driver plugin \(binary)" }

    public func createFlags() async throws -> [DriverFlag] {
        try await PluginDriver.createFlags(plugin: name, binary: binary, timeouts: timeouts).map(\.driverFlag)
    }

    public func driverForCreate(machine: String, flags: DriverFlagValues, store: Store) async throws -> any MachineDriver {
        var given: [String: PluginFlagValue] = [:]
        for (k, v) in flags.values {
            switch v {
            case .string(let s): given[k] = .string(s)
            case .int(let i): given[k] = .int(i)
            case .bool(let b): given[k] = .bool(b)
            case .strings(let a): given[k] = .strings(a)
            }
        }
        let declared = try await PluginDriver.createFlags(plugin: name, binary: binary, timeouts: timeouts)
        let values = try PluginDriver.values(plugin: name, given: given, declared: declared)
        return PluginDriver(creating: machine, plugin: name, binary: binary, store: store, flagValues: values, timeouts: timeouts)
    }

    public func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver {
        try PluginDriver(config: config, store: store, timeouts: timeouts)
    }
}

extension PluginFlag {
    /// The flag as `create` parses and describes driver flags.
    var driverFlag: DriverFlag {
        let kind: DriverFlag.Kind
        let value: DriverFlagValue?
        switch (self.kind, defaultValue) {
        case (.string, .string(let s)): kind = .string; value = s.isEmpty ? nil : .string(s)
        case (.int, .int(let i)): kind = .int; value = .int(i)
        case (.stringSlice, .strings(let a)): kind = .stringSlice; value = a.isEmpty ? nil : .strings(a)
        case (.bool, _): kind = .bool; value = nil
        case (.string, _): kind = .string; value = nil
        case (.int, _): kind = .int; value = nil
        case (.stringSlice, _): kind = .stringSlice; value = nil
        }
        return DriverFlag(name: name, usage: usage, envVar: envVar.isEmpty ? nil : envVar, kind: kind, defaultValue: value)
    }
}
