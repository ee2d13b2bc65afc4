import Foundation
import GoRPC
import SwockStore

/// A Docker Machine driver plugin: an executable `docker-machine-driver-NAME` on PATH, driven as
/// libmachine drives it (github.com/docker/machine, libmachine/drivers/rpc). Each operation starts
/// the binary with MACHINE_PLUGIN_TOKEN=42, reads its address from its first line, checks
/// GetVersion is 1, hands it the machine's configuration (SetConfigRaw: libmachine's raw driver
/// JSON, which the record keeps as its `driverOptions`), makes its calls with heartbeats every
/// 5 s, then Close; the process is killed if it lingers, on every path, timeouts included.
public struct PluginDriver: MachineDriver {
    public let name: String
    public let binary: String
    public let machineName: String
    /// libmachine's StorePath for the plugin: `STORE/plugins` (a plugin keeps its files for a
    /// machine in `StorePath/machines/NAME/`, as under ~/.docker/machine; the store's own
    /// `machines/NAME` is claimed whole when the record is written, so it stays out of it).
    public let storePath: String

    public static func storePath(_ store: Store) -> String { store.root + "/plugins" }

    static func isPlainName(_ name: String) -> Bool { !name.isEmpty && !name.contains("/") && name != "." && name != ".." }
    /// The plugin's configuration (GetConfigRaw's JSON), nil before create.
    public let raw: JSONValue?
    /// For create: every declared flag's value (SetConfigFromFlags).
    public let flagValues: [String: PluginFlagValue]
    public let timeouts: PluginTimeouts
    public var hostOwnership: HostOwnership { .owned }

    public static func binaryName(_ plugin: String) -> String { "docker-machine-driver-\(plugin)" }

    /// The plugin's executable on `path` (a PATH value).
    public static func locate(_ plugin: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) throws(PluginError) -> String {
        let binary = binaryName(plugin)
        let dirs = (path ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        guard !plugin.isEmpty, !plugin.contains("/") else { throw .notFound(name: plugin, binary: binary, searched: dirs) }
        for dir in dirs {
            let p = dir + "/" + binary
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue,
                FileManager.default.isExecutableFile(atPath: p)
            {
                return p
            }
        }
        throw .notFound(name: plugin, binary: binary, searched: dirs)
    }

    /// The driver of an existing machine: its record's plugin configuration.
    public init(
        config: MachineConfig, store: Store, path: String? = ProcessInfo.processInfo.environment["PATH"],
        timeouts: PluginTimeouts = .fromEnvironment()
    ) throws {
        self.name = config.driver
        self.binary = try Self.locate(config.driver, path: path)
        self.machineName = config.name
        self.storePath = Self.storePath(store)
        self.raw = config.driverOptions?.value
        self.flagValues = [:]
        self.timeouts = timeouts
    }

    /// The driver for a machine about to be created with these flag values (from
    /// `values(given:declared:)`).
    public init(
        creating machine: String, plugin: String, binary: String, store: Store,
        flagValues: [String: PluginFlagValue], timeouts: PluginTimeouts = .fromEnvironment()
    ) {
        self.name = plugin
        self.binary = binary
        self.machineName = machine
        self.storePath = Self.storePath(store)
        self.raw = nil
        self.flagValues = flagValues
        self.timeouts = timeouts
    }

    /// The flags the plugin declares (GetCreateFlags), asked as libmachine asks: after
    /// SetConfigRaw with a bare configuration.
    public static func createFlags(plugin: String, binary: String, timeouts: PluginTimeouts = .fromEnvironment()) async throws
        -> [PluginFlag]
    {
        let session = try await PluginSession.start(plugin: plugin, binary: binary, timeouts: timeouts)
        return try await using(session) { s in
            try await s.setConfigRaw(bareConfig(machine: "", storePath: ""))
            return try await s.createFlags()
        }
    }

    /// What SetConfigFromFlags gets, as libmachine's create sends it: every declared flag with
    /// its default (a bool false), the given ones over them, and the swarm flags libmachine adds
    /// (its drivers read them). A given flag the plugin does not declare is refused.
    public static func values(plugin: String, given: [String: PluginFlagValue], declared: [PluginFlag]) throws(PluginError) -> [String:
        PluginFlagValue]
    {
        let names = Set(declared.map(\.name))
        if let unknown = given.keys.sorted().first(where: { !names.contains($0) }) {
            throw .unknownFlag(plugin: plugin, flag: "--" + unknown, known: declared.map { "--" + $0.name }.sorted())
        }
        var out: [String: PluginFlagValue] = [
            "swarm": .bool(false), "swarm-master": .bool(false),
            "swarm-host": .string(""), "swarm-discovery": .string(""),
            "swarm-experimental": .bool(false),
        ]
        for f in declared { out[f.name] = f.defaultValue }
        for (k, v) in given { out[k] = v }
        return out
    }

    /// libmachine's bare driver JSON (drivers.BaseDriver with the machine's name and store).
    static func bareConfig(machine: String, storePath: String) -> [UInt8] {
        let fields: [(String, String)] = [
            ("IPAddress", "\"\""), ("MachineName", jsonString(machine)), ("SSHUser", "\"\""), ("SSHPort", "0"),
            ("SSHKeyPath", "\"\""), ("StorePath", jsonString(storePath)), ("SwarmMaster", "false"),
            ("SwarmHost", "\"\""), ("SwarmDiscovery", "\"\""),
        ]
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    private static func jsonString(_ s: String) -> String {
        let data = (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private func configBytes() throws -> [UInt8] {
        guard let raw else { return Self.bareConfig(machine: machineName, storePath: storePath) }
        guard case .object = raw else { throw PluginError.badConfig(plugin: name, detail: "driverOptions is not a JSON object") }
        return Array(try JSONEncoder().encode(raw))
    }

    /// Runs `body` on a fresh session configured for this machine; the session is always closed.
    func withSession<T: Sendable>(_ body: @Sendable (PluginSession) async throws -> T) async throws -> T {
        let config = try configBytes()
        // libmachine saves the machine's directory before Create; drivers write into it (generic
        // copies the SSH key there).
        let dir = storePath + "/machines" + (Self.isPlainName(machineName) ? "/" + machineName : "")
        try FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let session = try await PluginSession.start(plugin: name, binary: binary, timeouts: timeouts)
        return try await Self.using(session) { s in
            try await s.setConfigRaw(config)
            if raw == nil, !flagValues.isEmpty { try await s.setConfigFromFlags(flagValues) }
            return try await body(s)
        }
    }

    static func using<T: Sendable>(_ session: PluginSession, _ body: @Sendable (PluginSession) async throws -> T) async throws -> T {
        do {
            let r = try await body(session)
            await session.close()
            return r
        } catch {
            await session.close()
            throw error
        }
    }

    public func preCreateCheck() async throws {
        do {
            _ = try await withSession { s in try await s.call("PreCreateCheck", operation: true) }
        } catch {
            dropEmptyMachineDirectory()
            throw error
        }
    }

    /// Create, then the host's details. A failure before the Create call has made nothing (it is
    /// thrown as it is); from the Create call on, the plugin may have made the host, so the
    /// failure is a `CreateInterrupted` carrying the plugin's configuration: GetConfigRaw's
    /// answer when the plugin still answers, else the one it had before Create.
    public func create() async throws -> CreatedHost {
        let name = self.name
        let given = try configBytes()
        do {
            return try await withSession { s in
                // What the plugin holds before Create (the flags applied): the record's if it dies.
                let before = (try? await s.getConfigRaw()).flatMap(Self.options(_:)) ?? Self.options(given) ?? DriverOptions()
                do {
                    _ = try await s.call("Create", operation: true)
                } catch {
                    // The plugin's own error: it still answers, and may have changed its config.
                    var known = before
                    if case PluginError.call(_, _, .server, _) = error, let raw = try? await s.getConfigRaw(),
                        let o = Self.options(raw)
                    {
                        known = o
                    }
                    throw CreateInterrupted(driver: name, options: known, underlying: error)
                }
                var options = before
                do {
                    let raw = try await s.getConfigRaw()
                    guard let o = Self.options(raw) else {
                        throw PluginError.badReply(plugin: name, method: "GetConfigRaw", detail: "not JSON")
                    }
                    options = o
                    let ssh = try await Self.ssh(s)
                    let ip = try await s.string("GetIP")
                    return CreatedHost(address: ip.isEmpty ? ssh.host : ip, ssh: ssh, options: options)
                } catch {
                    throw CreateInterrupted(driver: name, options: options, underlying: error)
                }
            }
        } catch let e as CreateInterrupted {
            throw e
        } catch {
            dropEmptyMachineDirectory()
            throw error
        }
    }

    /// libmachine's raw driver JSON as the record keeps it; nil when it is not JSON.
    static func options(_ raw: [UInt8]) -> DriverOptions? {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(raw))).map { DriverOptions($0) }
    }

    /// The plugin's directory for this machine (`plugins/machines/NAME`), made for its create,
    /// goes when a create made nothing (only if empty: a plugin's files stay for its Remove).
    func dropEmptyMachineDirectory() {
        guard Self.isPlainName(machineName) else { return }
        rmdir(storePath + "/machines/" + machineName)
    }

    private static func ssh(_ s: PluginSession) async throws -> DriverSSHAccess {
        let host = try await s.string("GetSSHHostname")
        let port = try await s.int("GetSSHPort")
        let user = try await s.string("GetSSHUsername")
        let key = try await s.string("GetSSHKeyPath")
        return DriverSSHAccess(host: host, port: Int(port), user: user.isEmpty ? "root" : user, keyPath: key.isEmpty ? nil : key)
    }

    /// The plugin's Remove, then the files it kept for the machine (`plugins/machines/NAME`).
    public func remove() async throws {
        _ = try await withSession { s in try await s.call("Remove", operation: true) }
        let dir = storePath + "/machines/" + machineName
        if Self.isPlainName(machineName), FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.removeItem(atPath: dir)
        }
    }
    public func start() async throws { _ = try await withSession { s in try await s.call("Start", operation: true) } }
    public func stop() async throws { _ = try await withSession { s in try await s.call("Stop", operation: true) } }
    public func restart() async throws { _ = try await withSession { s in try await s.call("Restart", operation: true) } }
    public func kill() async throws { _ = try await withSession { s in try await s.call("Kill", operation: true) } }

    public func state() async throws -> DriverState {
        let name = self.name
        return try await withSession { s in
            let n = try await s.int("GetState")
            guard n >= 0, n < DriverState.allCases.count else {
                throw PluginError.badReply(plugin: name, method: "GetState", detail: "state \(n) is none of libmachine's")
            }
            return DriverState.allCases[Int(n)]
        }
    }

    public func sshAccess() async throws -> DriverSSHAccess? { try await withSession { s in try await Self.ssh(s) } }

    /// The plugin's Docker URL (GetURL); provisioning uses SSH, so this is only for plugins' own use.
    public func dockerURL() async throws -> String? { nil }

    public func options() -> DriverOptions { raw.map { DriverOptions($0) } ?? DriverOptions() }

    /// The plugin's answers that need no change on the host: its name, the machine's name, IP and URL.
    public func describe() async throws -> (driverName: String, machineName: String, ip: String, url: String) {
        try await withSession { s in
            (
                try await s.string("DriverName"), try await s.string("GetMachineName"), try await s.string("GetIP"),
                try await s.string("GetURL")
            )
        }
    }
}
