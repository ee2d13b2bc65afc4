import Foundation
import GoRPC
import SwockSupport

/// How long a plugin gets. libmachine waits 10 s for the address and heartbeats every 5 s (a
/// plugin exits when it hears none for 10 s); it has no limit on a call, swock-machine does.
public struct PluginTimeouts: Sendable, Equatable {
    /// Until the first line (the address).
    public var address: Double = 10
    /// Queries: GetVersion, GetState, GetIP, the SSH details, config, flags.
    public var query: Double = 60
    /// What makes or powers the host: PreCreateCheck, Create, Start, Stop, Restart, Kill, Remove.
    public var operation: Double = 900
    public var heartbeatInterval: Double = 5

    public init() {}

    /// The defaults, with `SWOCK_MACHINE_PLUGIN_TIMEOUT` (seconds) for operations when set.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> PluginTimeouts {
        var t = PluginTimeouts()
        if let s = env["SWOCK_MACHINE_PLUGIN_TIMEOUT"], let n = Double(s), n > 0 { t.operation = n }
        return t
    }
}

/// One started plugin and its connection, for one operation of one command. Always ended with
/// `close()`: Close over RPC, then the process is waited for and killed if it lingers.
final class PluginSession: Sendable {
    static let service = "RPCServerDriver."

    let plugin: String
    let process: PluginProcess
    let client: GoRPCClient
    let timeouts: PluginTimeouts
    private let heartbeat: Task<Void, Never>

    private init(plugin: String, process: PluginProcess, client: GoRPCClient, timeouts: PluginTimeouts) {
        self.plugin = plugin
        self.process = process
        self.client = client
        self.timeouts = timeouts
        let interval = timeouts.heartbeatInterval
        heartbeat = Task { [client] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                if Task.isCancelled { break }
                do {
                    _ = try await client.call(Self.service + "Heartbeat", timeout: interval * 2)
                } catch {
                    break
                }
            }
        }
    }

    /// Starts the binary, connects, and checks the API version (libmachine's 1).
    static func start(
        plugin: String, binary: String, timeouts: PluginTimeouts,
        extraEnvironment: [String: String] = [:]
    ) async throws -> PluginSession {
        let process = try PluginProcess.start(binary: binary, extraEnvironment: extraEnvironment)
        do {
            let (host, port) = try await OffPool.run("plugin-address") { try process.address(timeout: timeouts.address) }
            let client: GoRPCClient
            do {
                client = try await OffPool.run("plugin-connect") {
                    try GoRPCClient.connect(host: host, port: port, timeout: timeouts.address)
                }
            } catch let e as GoRPCError {
                throw PluginError.call(plugin: plugin, method: "connect", failure: e, stderr: process.lastWords())
            }
            let session = PluginSession(plugin: plugin, process: process, client: client, timeouts: timeouts)
            do {
                let version = try await session.int("GetVersion")
                guard version == 1 else { throw PluginError.incompatibleVersion(binary: binary, version: version) }
            } catch {
                await session.close()
                throw error
            }
            return session
        } catch {
            _ = try? await OffPool.run("plugin-kill") { process.stop(grace: 0) }
            throw error
        }
    }

    /// Close over RPC (the plugin exits), stop heartbeats, end the connection, and make sure the
    /// process is gone.
    func close() async {
        heartbeat.cancel()
        if process.isRunning {
            _ = try? await client.call(Self.service + "Close", timeout: 3)
        }
        client.close()
        let process = self.process
        _ = try? await OffPool.run("plugin-stop") { process.stop(grace: 3) }
    }

    /// One call; a plugin that does not answer in time is killed (its session is over).
    func call(
        _ method: String, argument: (GobType, GobValue) = (GoRPCTypes.empty, GoRPCTypes.emptyValue),
        operation: Bool = false
    ) async throws -> GobValue {
        let timeout = operation ? timeouts.operation : timeouts.query
        do {
            return try await client.call(Self.service + method, argument: argument, timeout: timeout)
        } catch let e as GoRPCError {
            if case .timeout = e {
                client.close()
                let process = self.process
                _ = try? await OffPool.run("plugin-kill") { process.stop(grace: 0) }
            } else if case .closed = e {
                // Give the exit a moment so stderr's last line is read.
                try? await Task.sleep(for: .milliseconds(100))
            }
            throw PluginError.call(plugin: plugin, method: method, failure: e, stderr: process.lastWords())
        }
    }

    func string(_ method: String) async throws -> String {
        let v = try await call(method)
        guard let s = v.stringValue else { throw PluginError.badReply(plugin: plugin, method: method, detail: "not a string") }
        return s
    }

    func int(_ method: String) async throws -> Int64 {
        let v = try await call(method)
        guard let i = v.intValue else { throw PluginError.badReply(plugin: plugin, method: method, detail: "not an int") }
        return i
    }

    func createFlags() async throws -> [PluginFlag] {
        let v = try await call("GetCreateFlags")
        guard let list = v.listValue else { throw PluginError.badReply(plugin: plugin, method: "GetCreateFlags", detail: "not a list") }
        do {
            return try list.map { e throws(PluginFlagReadError) in try PluginFlag(e) }
        } catch {
            throw PluginError.badReply(plugin: plugin, method: "GetCreateFlags", detail: error.detail)
        }
    }

    func setConfigRaw(_ json: [UInt8]) async throws {
        _ = try await call("SetConfigRaw", argument: (.bytes, .bytes(json)))
    }

    func getConfigRaw() async throws -> [UInt8] {
        let v = try await call("GetConfigRaw")
        guard let b = v.bytesValue else { throw PluginError.badReply(plugin: plugin, method: "GetConfigRaw", detail: "not bytes") }
        return b
    }

    func setConfigFromFlags(_ values: [String: PluginFlagValue]) async throws {
        _ = try await call("SetConfigFromFlags", argument: RPCFlags.argument(values))
    }
}
