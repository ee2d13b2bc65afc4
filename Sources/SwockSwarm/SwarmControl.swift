import EngineAPI
import Foundation
import SwockEngine
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSupport

/// Swarm mode over the Engine API of machines in the store (the mutual-TLS connection each
/// record already has): init on one, join many at once through the fan-out, leave, and the
/// state of each. Join tokens are read from the manager and sent to each joining daemon inside
/// those TLS requests only.
public struct SwarmControl: Sendable {
    public static let port = 2377

    public let store: Store
    public var timeout: Duration

    public init(store: Store, timeout: Duration = .seconds(30)) {
        self.store = store
        self.timeout = timeout
    }

    func client(_ config: MachineConfig, timeout: Duration? = nil) async throws -> EngineClient {
        EngineClient(
            endpoint: try await EngineRoute.endpoint(config, store: store, budget: timeout ?? self.timeout),
            timeout: timeout ?? self.timeout)
    }

    /// Swarm mode and live-restore exclude each other in dockerd: switches live-restore off on
    /// the machine (daemon.json and a reload, over SSH; running containers are untouched) and
    /// waits until the daemon says so.
    func prepareForSwarm(_ config: MachineConfig, _ c: EngineClient, _ state: LocalSwarmState) async throws {
        guard state.liveRestoreEnabled else { return }
        // An adopted endpoint (none): its daemon.json is out of reach.
        guard config.hasSSH else { throw SwarmError.liveRestoreWithoutSSH(config.name) }
        let ssh = try await MachineSSH(store: store).connect(config)
        do {
            try await DaemonJSON.setLiveRestore(false, ssh: ssh)
            await ssh.close()
        } catch {
            await ssh.close()
            throw error
        }
        let deadline = ContinuousClock.now + .seconds(15)
        while try await c.swarmState().liveRestoreEnabled {
            guard ContinuousClock.now < deadline else { throw SwarmError.liveRestoreStaysOn(config.name) }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// `ADDRESS:2377`, bracketing IPv6 addresses; an address that has a port keeps it.
    public static func swarmAddress(_ address: String) -> String {
        if address.hasPrefix("[") || (address.split(separator: ":").count == 2 && !address.contains("::")) { return address }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// Makes `manager` the first manager of a new swarm; returns its node ID.
    public func initialize(_ manager: String, advertiseAddress: String?, defaultAddressPool: [String]) async throws -> String {
        let config = try store.load(manager)
        let c = try await client(config)
        let state = try await c.swarmState()
        if state.localNodeState != "inactive" {
            throw SwarmError.alreadyInSwarm(manager, role: state.controlAvailable ? "manager" : "worker")
        }
        try await prepareForSwarm(config, c, state)
        return try await c.swarmInit(
            advertiseAddress: Self.swarmAddress(advertiseAddress ?? config.peerAddress ?? config.address),
            defaultAddressPool: defaultAddressPool)
    }

    /// Joins every machine of `names` to the swarm `manager` belongs to, `parallelism` at once.
    /// A machine already in that swarm is left as it is.
    public func join(
        _ names: [String], manager: String, asManager: Bool, parallelism: Int = 16,
        finished: @escaping @Sendable (HostOutcome) -> Void = { _ in }
    ) async throws -> [HostOutcome] {
        let managerConfig = try store.load(manager)
        let m = try await client(managerConfig)
        let mState = try await m.swarmState()
        guard mState.localNodeState == "active", mState.controlAvailable else { throw SwarmError.notAManager(manager) }
        let cluster = try await m.swarmInspect()
        let token = asManager ? cluster.joinTokens.manager : cluster.joinTokens.worker
        let managerAddress =
            mState.nodeAddress.isEmpty
            ? Self.swarmAddress(managerConfig.peerAddress ?? managerConfig.address) : Self.swarmAddress(mState.nodeAddress)
        let store = self.store
        let control = self
        return await FanOut(parallelism: parallelism).run(
            names,
            job: { i in
                let name = names[i]
                let clock = ContinuousClock()
                let start = clock.now
                do {
                    let config = try store.load(name)
                    let c = try await control.client(config)
                    let state = try await c.swarmState()
                    if state.localNodeState == "active" {
                        let inThis = (try? await m.nodes())?.contains { $0.id == state.nodeID } ?? false
                        if inThis {
                            return HostOutcome(name: name, result: .ok, duration: clock.now - start, detail: "already in the swarm")
                        }
                        throw SwarmError.alreadyInSwarm(name, role: state.controlAvailable ? "manager" : "worker")
                    }
                    // A join that timed out before keeps retrying in the background ("pending"):
                    // start again from a clean state.
                    if state.localNodeState == "pending" || state.localNodeState == "error" { try? await c.swarmLeave(force: true) }
                    try await control.prepareForSwarm(config, c, state)
                    do {
                        try await c.swarmJoin(
                            managers: [managerAddress], token: token,
                            advertiseAddress: Self.swarmAddress(config.peerAddress ?? config.address))
                    } catch let e as EngineError {
                        // dockerd keeps trying after its own 20 s; stop it, so a failed join leaves
                        // the machine as it was.
                        try? await c.swarmLeave(force: true)
                        throw SwarmError.joinFailed(name, manager: manager, address: managerAddress, reason: e.daemonMessage)
                    }
                    return HostOutcome(
                        name: name, result: .ok, duration: clock.now - start,
                        detail: "joined \(manager)'s swarm as a \(asManager ? "manager" : "worker")")
                } catch {
                    return HostOutcome(name: name, result: .failed, duration: clock.now - start, error: "\(error)", failure: error)
                }
            }, finished: { _, o in finished(o) })
    }

    /// Takes machines out of their swarm. A worker is drained first (its tasks move to other
    /// nodes), then leaves, then is removed from the node list by a manager. A manager is
    /// demoted first when other managers remain; the last manager leaves only with `force`
    /// (which ends the swarm).
    public func leave(
        _ names: [String], force: Bool, parallelism: Int = 16,
        finished: @escaping @Sendable (HostOutcome) -> Void = { _ in }
    ) async -> [HostOutcome] {
        // Workers first, all at once, while the managers are still there to drain and remove
        // them; then managers one at a time (each demotion changes what the next one sees).
        var managers = Set<String>()
        for n in names {
            if let config = try? store.load(n), let s = try? await client(config).swarmState(), s.controlAvailable { managers.insert(n) }
        }
        let control = self
        func job(_ list: [String], _ width: Int) async -> [HostOutcome] {
            await FanOut(parallelism: width).run(
                list,
                job: { i in
                    let clock = ContinuousClock()
                    let start = clock.now
                    do {
                        let detail = try await control.leaveOne(list[i], force: force)
                        return HostOutcome(name: list[i], result: .ok, duration: clock.now - start, detail: detail)
                    } catch {
                        return HostOutcome(name: list[i], result: .failed, duration: clock.now - start, error: "\(error)", failure: error)
                    }
                }, finished: { _, o in finished(o) })
        }
        let first = await job(names.filter { !managers.contains($0) }, parallelism)
        let then = await job(names.filter { managers.contains($0) }, 1)
        let byName = Dictionary((first + then).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return names.compactMap { byName[$0] }
    }

    func leaveOne(_ name: String, force: Bool) async throws -> String {
        let config = try store.load(name)
        let c = try await client(config)
        let state = try await c.swarmState()
        guard state.localNodeState != "inactive" else { return "not in a swarm" }
        // Another manager of the same swarm, from the store, to drain/demote/remove this node.
        let other = await otherManager(than: name, nodeID: state.nodeID)?.client
        if state.controlAvailable {
            guard let other else {
                guard force else { throw SwarmError.lastManager(name) }
                try await c.swarmLeave(force: true)
                return "left; the swarm is gone (it was its last manager)"
            }
            if let node = try await other.nodes().first(where: { $0.id == state.nodeID }) {
                try await other.updateNode(node, role: "worker", availability: "drain")
            }
            try await waitUntilWorker(c)
        } else if let other, let node = try await other.nodes().first(where: { $0.id == state.nodeID }) {
            try await other.updateNode(node, availability: "drain")
        }
        try await c.swarmLeave(force: force)
        guard let other else {
            return "left the swarm (no manager of it is in this store to drain it first or take it off the node list)"
        }
        // The manager sees the node go down within seconds; then it can be removed.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard let node = try await other.nodes().first(where: { $0.id == state.nodeID }) else { break }
            if node.status.state == "down" {
                try await other.removeNode(id: node.id, force: false)
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        if let still = try await other.nodes().first(where: { $0.id == state.nodeID }) {
            try await other.removeNode(id: still.id, force: true)
        }
        return "drained and left the swarm"
    }

    /// For `rm`: takes the machine out of its swarm first, so no dead node stays in the
    /// managers' list. Nothing to do (nil) when it is in none or its daemon does not answer
    /// (rm reports the host itself). The last manager goes only with `force`.
    public func leaveBeforeRemoval(_ name: String, force: Bool) async throws -> String? {
        guard let config = try? store.load(name),
            let state = try? await client(config, timeout: .seconds(5)).swarmState(),
            state.localNodeState != "inactive"
        else { return nil }
        return try await leaveOne(name, force: force)
    }

    private func waitUntilWorker(_ c: EngineClient) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await !c.swarmState().controlAvailable { return }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// The machine to point a docker client at for `name`'s swarm: `name` itself when it is a
    /// manager, else a store machine that manages the same swarm and answers.
    public func reachableManager(of name: String) async throws -> String {
        let config = try store.load(name)
        let s = try await client(config).swarmState()
        guard s.localNodeState == "active" else { throw SwarmError.notInSwarm(name) }
        if s.controlAvailable { return name }
        guard let other = await otherManager(than: name, nodeID: s.nodeID) else { throw SwarmError.noReachableManager(name) }
        return other.name
    }

    /// A manager of the same swarm other than `name`, among the store's machines: its name and
    /// a client for it. Each candidate gets 5 s to answer; the client returned has the full
    /// timeout, since draining and removing a node through it is work, not a probe.
    func otherManager(than name: String, nodeID: String) async -> (name: String, client: EngineClient)? {
        for other in store.names() where other != name {
            guard let config = try? store.load(other) else { continue }
            guard let c = try? await client(config, timeout: .seconds(5)), let s = try? await c.swarmState(), s.localNodeState == "active",
                s.controlAvailable,
                let nodes = try? await c.nodes(), nodes.contains(where: { $0.id == nodeID }),
                let working = try? await client(config)
            else { continue }
            return (other, working)
        }
        return nil
    }

    /// One row of `swarm ls`.
    public struct Member: Sendable, Equatable {
        public var name: String
        /// manager, worker, or "-" when not in a swarm.
        public var role: String
        /// The node's own state (active, pending, error, inactive), or the error reaching it.
        public var state: String
        /// Ready/Down and active/drain as a manager reports them.
        public var status: String
        public var availability: String
        /// Manager reachability (reachable, unreachable), leader marked.
        public var managerStatus: String
    }

    public func members(_ names: [String]) async -> [Member] {
        let store = self.store
        let control = self
        let states = await withTaskGroup(of: (Int, LocalSwarmState?, String?).self) { group in
            for (i, n) in names.enumerated() {
                group.addTask {
                    guard let config = try? store.load(n) else { return (i, nil, "no record") }
                    do { return (i, try await control.client(config).swarmState(), nil) } catch { return (i, nil, "\(error)") }
                }
            }
            var out = [(LocalSwarmState?, String?)](repeating: (nil, nil), count: names.count)
            for await (i, s, e) in group { out[i] = (s, e) }
            return out
        }
        // Node details from the first manager that answers.
        var nodes: [SwarmNode] = []
        for (i, (s, _)) in states.enumerated() where s?.controlAvailable == true {
            if let config = try? store.load(names[i]), let list = try? await client(config).nodes() { nodes = list; break }
        }
        return names.indices.map { i in
            let (s, e) = states[i]
            guard let s else {
                return Member(name: names[i], role: "-", state: "unreachable", status: "-", availability: "-", managerStatus: e ?? "-")
            }
            let node = nodes.first { $0.id == s.nodeID && !s.nodeID.isEmpty }
            let role = s.localNodeState == "inactive" ? "-" : (s.controlAvailable ? "manager" : "worker")
            let ms = node?.managerStatus.map { ($0.leader == true ? "leader, " : "") + $0.reachability } ?? "-"
            return Member(
                name: names[i], role: role, state: s.localNodeState, status: node?.status.state ?? "-",
                availability: node?.spec.availability ?? "-", managerStatus: ms)
        }
    }
}

/// What Swarm mode refused; the next step on the command line is added by SwockCommands.
public enum SwarmError: Error, Equatable, CustomStringConvertible, Sendable {
    case alreadyInSwarm(String, role: String)
    case notAManager(String)
    case joinFailed(String, manager: String, address: String, reason: String)
    case lastManager(String)
    case notInSwarm(String)
    case liveRestoreStaysOn(String)
    /// live-restore is on and the machine has no SSH to switch it off (`create -d none`).
    case liveRestoreWithoutSSH(String)
    case noReachableManager(String)
    /// Not joined: the manager it was to join (`manager`) did not become ready.
    case managerNotReady(String, manager: String)

    public var description: String {
        switch self {
        case .alreadyInSwarm(let name, let role):
            return "\(name) is already in a swarm (as a \(role))"
        case .notAManager(let name):
            return "\(name) is not a swarm manager"
        case .joinFailed(let name, let manager, let address, let reason):
            return
                "\(name) could not join \(manager)'s swarm at \(address) (\(reason)); check that \(name) reaches \(address) over TCP (port \(SwarmControl.port))"
        case .liveRestoreStaysOn(let name):
            return
                "\(name): dockerd still has live-restore on after a reload, and Swarm mode refuses it; set \"live-restore\": false in /etc/docker/daemon.json on the host and restart docker"
        case .liveRestoreWithoutSSH(let name):
            return
                "\(name): dockerd has live-restore on, which Swarm mode refuses, and the machine has no SSH to switch it off; set \"live-restore\": false in the daemon's daemon.json on its host, reload dockerd, and retry"
        case .notInSwarm(let name):
            return "\(name) is not in a swarm"
        case .noReachableManager(let name):
            return "no manager of \(name)'s swarm answers among this store's machines"
        case .lastManager(let name):
            return "\(name) is the last manager of its swarm: leaving ends the swarm for every node"
        case .managerNotReady(_, let manager):
            return "not joined: its swarm manager \(manager) is not ready"
        }
    }
}

extension SwarmError: MachineSentence {
    public var subject: String? {
        switch self {
        case .alreadyInSwarm(let n, _), .notAManager(let n), .joinFailed(let n, _, _, _), .lastManager(let n), .notInSwarm(let n),
            .liveRestoreStaysOn(let n), .liveRestoreWithoutSSH(let n):
            return n
        case .noReachableManager, .managerNotReady: return nil
        }
    }
}

extension SwarmError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .alreadyInSwarm: return "swarm.already-in-swarm"
        case .notAManager: return "swarm.not-a-manager"
        case .joinFailed: return "swarm.join-failed"
        case .lastManager: return "swarm.last-manager"
        case .notInSwarm: return "swarm.not-in-swarm"
        case .liveRestoreStaysOn: return "swarm.live-restore-on"
        case .liveRestoreWithoutSSH: return "swarm.live-restore-no-ssh"
        case .noReachableManager: return "swarm.no-reachable-manager"
        case .managerNotReady: return "swarm.manager-not-ready"
        }
    }
}
