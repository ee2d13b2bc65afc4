import EngineAPI
import Foundation
import SSHKit
import SwockStore
import Synchronization

extension Store {
    /// Where a machine's daemon itself answers, with the TLS files a client needs (the machine's
    /// own directory, DOCKER_CERT_PATH). Clients go through `EngineRoute`, which knows when that
    /// address is not reachable from here.
    func daemonEndpoint(_ config: MachineConfig) -> EngineEndpoint {
        EngineEndpoint(
            host: config.address, port: config.engine.port,
            tls: TLSFiles(directory: machineDir(config.name)), machineName: config.name,
            sessionFile: tlsSessionPath(config.name))
    }
}

extension Store {
    /// The variables that point a docker client at a machine (what `env` prints, what the
    /// `docker` fan-out sets), in docker-machine's order. `host` overrides DOCKER_HOST (a forward
    /// of this process's own). Callers that hand them out run `refreshDockerCertPath` first.
    public func dockerEnvironment(_ config: MachineConfig, host: String? = nil) -> [(String, String)] {
        [
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_HOST", host ?? config.clientURL),
            ("DOCKER_CERT_PATH", dockerCertPath(config)),
            ("DOCKER_MACHINE_NAME", config.name),
        ]
    }

    /// The docker CLI's TLS files for a machine (DOCKER_CERT_PATH, `--tlscacert`, contexts): the
    /// machine's own directory (the store's CA; the daemon is verified at its own address), or for
    /// a machine behind jump hosts `pinned-tls/`, whose `ca.pem` is the machine's own server
    /// certificate. The docker CLI reaches such a machine at 127.0.0.1 and can only check that
    /// name, which its certificate covers — as may every tunnelled machine's of the same CA; with
    /// that certificate as its only trust anchor, no other passes (Go accepts a leaf that is
    /// itself in the roots pool).
    public func dockerCertPath(_ config: MachineConfig) -> String {
        config.isBehindJumpHosts ? machineDir(config.name) + "/" + Self.pinnedTLSFolder : machineDir(config.name)
    }

    /// The files of `dockerCertPath` for a machine behind jump hosts, from its server certificate
    /// and the client certificate and key: `ca.pem` is the server certificate itself.
    package func pinnedTLSFiles(_ name: String, serverPEM: String, clientCertPEM: String, clientKeyPEM: String) -> [(
        path: String, data: Data
    )] {
        let dir = machineDir(name) + "/" + Self.pinnedTLSFolder
        return [
            (dir + "/ca.pem", Data(serverPEM.utf8)), (dir + "/cert.pem", Data(clientCertPEM.utf8)),
            (dir + "/key.pem", Data(clientKeyPEM.utf8)),
        ]
    }

    /// Brings `pinned-tls/` of a machine behind jump hosts up to date with its `server.pem`,
    /// `cert.pem` and `key.pem` (nothing to do for a machine reached directly, or when it already
    /// is): records imported or made before it existed get it on first use.
    public func refreshDockerCertPath(_ config: MachineConfig) throws {
        guard config.isBehindJumpHosts else { return }
        let files = pinnedTLSFiles(
            config.name, serverPEM: try readMachineFile(config.name, "server.pem"),
            clientCertPEM: try readMachineFile(config.name, "cert.pem"),
            clientKeyPEM: try readMachineFile(config.name, "key.pem"))
        if files.allSatisfy({ FileManager.default.contents(atPath: $0.path) == $0.data }) { return }
        try Self.makeDirectory(dockerCertPath(config))
        try AtomicFile.write(files)
    }

    /// The names `dockerEnvironment` sets.
    public static let dockerEnvironmentKeys = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"]
}

/// How this process reaches a machine's Engine API: the one place that decides it.
///
/// A machine reached directly is asked at its own address. For a machine behind jump hosts the
/// daemon's port is not reachable from here: the route is a local forward (`EngineTunnel`) over
/// an SSH session through the jump hosts, opened on first use and kept for the rest of the process:
/// the session the connection keeper holds when it serves (`KeeperRoute`), else one of its own.
public enum EngineRoute {
    /// The endpoint to use for `config`. For a machine behind jump hosts this connects (within
    /// `budget`, when given) and throws SSH errors as they are.
    public static func endpoint(_ config: MachineConfig, store: Store, budget: Duration? = nil) async throws -> EngineEndpoint {
        guard config.isBehindJumpHosts else { return store.daemonEndpoint(config) }
        let tunnel = try await Cache.shared.tunnel(for: config, store: store, budget: budget)
        return forwarded(config, store: store, port: tunnel.localPort)
    }

    /// Runs `body` with an endpoint that goes through `ssh` (an open session to the machine, with
    /// its jump hosts) when the machine is behind jump hosts; the forward ends with `body`.
    public static func withEndpoint<T>(
        _ config: MachineConfig, store: Store, through ssh: SSHSession?,
        _ body: (EngineEndpoint) async throws -> T
    ) async throws -> T {
        guard config.isBehindJumpHosts else { return try await body(store.daemonEndpoint(config)) }
        guard let ssh else { return try await body(try await endpoint(config, store: store)) }
        let tunnel = try EngineTunnel(session: ssh, reconnect: nil, to: config.address, port: config.engine.port)
        defer { tunnel.close() }
        return try await body(forwarded(config, store: store, port: tunnel.localPort))
    }

    /// The local end of a forward, verified as the machine itself: the daemon's certificate must
    /// cover the machine's own address, not just 127.0.0.1 (which every tunnelled machine's covers).
    static func forwarded(_ config: MachineConfig, store: Store, port: Int) -> EngineEndpoint {
        EngineEndpoint(
            host: "127.0.0.1", port: port, tls: TLSFiles(directory: store.machineDir(config.name)), machineName: config.name,
            verifyName: config.address, sessionFile: store.tlsSessionPath(config.name))
    }

    /// Forwards go through the connection keeper (`KeeperRoute`) when it serves; nil: directly.
    /// Commands set it from their `--persist`; unset, it follows $SWOCK_PERSIST (60 s by default).
    public static func useKeeper(_ keeper: KeeperClient?) {
        keeperChoice.withLock { $0 = .chosen(keeper) }
    }

    private enum KeeperChoice {
        case unset
        case chosen(KeeperClient?)
    }
    private static let keeperChoice = Mutex(KeeperChoice.unset)

    static func keeper(for store: Store) -> KeeperClient? {
        let keeper = keeperChoice.withLock { choice -> KeeperClient? in
            if case .chosen(let k) = choice { return k }
            let persist = (try? KeeperPersist.resolve(flag: nil)) ?? .zero
            let k = KeeperClient.forCommands(store: store, persist: persist)
            choice = .chosen(k)
            return k
        }
        return keeper?.store.root == store.root ? keeper : nil
    }

    /// One forward per machine (and route) for the life of the process.
    actor Cache {
        static let shared = Cache()
        private var tunnels: [String: Task<EngineTunnel, Error>] = [:]

        func tunnel(for config: MachineConfig, store: Store, budget: Duration?) async throws -> EngineTunnel {
            let hops = (config.ssh.proxyJump ?? []).map(\.description).joined(separator: ",")
            let key = "\(store.machineDir(config.name))|\(config.address):\(config.engine.port)|\(hops)"
            if let t = tunnels[key] {
                if let ready = try? await t.value { return ready }
                tunnels[key] = nil
            }
            let ssh = MachineSSH(store: store, connectTimeout: budget.map { min($0, .seconds(10)) } ?? .seconds(10))
            let t = Task { () throws -> EngineTunnel in
                // Through the session the connection keeper holds, when it serves (direct after it).
                let asked = ContinuousClock.now
                if let keeper = EngineRoute.keeper(for: store), let route = try await KeeperRoute.open(keeper, config, budget: budget) {
                    return try EngineTunnel(
                        session: nil, reconnect: { try await ssh.connect(config) },
                        to: config.address, port: config.engine.port, keeper: route)
                }
                // What a keeper that did not serve left of the budget.
                let left = budget.map { max($0 - (ContinuousClock.now - asked), .milliseconds(100)) }
                let session = try await ssh.connect(config, budget: left)
                return try EngineTunnel(
                    session: session, reconnect: { try await ssh.connect(config) },
                    to: config.address, port: config.engine.port)
            }
            tunnels[key] = t
            do {
                return try await t.value
            } catch {
                tunnels[key] = nil
                throw error
            }
        }
    }
}
