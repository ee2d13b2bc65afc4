import Foundation
import SwockStore

/// One kind of driver: what `create -d NAME` finds by name. It declares its create flags (a
/// plugin asks its binary), makes a driver for a new machine from their values, and one for an
/// existing machine from its record.
public protocol DriverKind: Sendable {
    /// The name `create -d` takes and records keep.
    var name: String { get }
    /// One line for `create --help`'s list of drivers.
    var summary: String { get }
    /// The flags `create -d NAME` takes (async: a plugin answers GetCreateFlags).
    func createFlags() async throws -> [DriverFlag]
    /// The driver for a machine about to be created, from its flags' values (checked here: a
    /// flag value that cannot work is refused before anything is made).
    func driverForCreate(machine: String, flags: DriverFlagValues, store: Store) async throws -> any MachineDriver
    /// The driver of an existing machine, from its record (its `driverOptions`).
    func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver
}

/// Finds drivers by name. Records written before drivers existed say "generic".
/// Components take a registry (default `.standard`) so tests can give a test double.
public struct DriverRegistry: Sendable {
    public var kinds: [any DriverKind]
    /// Any name that is not built in: a `docker-machine-driver-NAME` plugin on PATH, or nil.
    public var plugin: @Sendable (_ name: String) -> (any DriverKind)?

    public init(kinds: [any DriverKind], plugin: @escaping @Sendable (String) -> (any DriverKind)? = { _ in nil }) {
        self.kinds = kinds
        self.plugin = plugin
    }

    /// The drivers built into swock-machine.
    /// Any other name is a Docker Machine plugin when `docker-machine-driver-NAME` is on PATH.
    public static let standard = DriverRegistry(kinds: [GenericKind(), NoneKind(), QemuKind()], plugin: { PluginKind.onPath($0) })

    /// The built-in drivers' names.
    public static var builtIn: [String] { standard.kinds.map(\.name) }

    public func kind(named name: String) throws(DriverError) -> any DriverKind {
        if let k = kinds.first(where: { $0.name == name }) { return k }
        if let p = plugin(name) { return p }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        throw .unknownDriver(name: name, builtIn: kinds.map(\.name), searched: path.split(separator: ":").map(String.init))
    }

    /// The driver of an existing machine.
    public func resolve(_ config: MachineConfig, store: Store) throws -> any MachineDriver {
        try kind(named: config.driver).driver(for: config, store: store)
    }

    public static func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver {
        try standard.resolve(config, store: store)
    }
}
