import Foundation

/// Docker Engine's own Swarm mode API: init, join, leave, and the nodes a manager knows.
/// Join tokens travel only inside these TLS requests, never on a command line.
extension EngineClient {
    public func swarmInit(
        advertiseAddress: String, listenAddress: String = "0.0.0.0:2377",
        defaultAddressPool: [String] = []
    ) async throws(EngineError) -> String {
        try await offPool { c in
            var body: [String: Any] = ["ListenAddr": listenAddress, "AdvertiseAddr": advertiseAddress, "ForceNewCluster": false]
            if !defaultAddressPool.isEmpty { body["DefaultAddrPool"] = defaultAddressPool }
            let r = try c.send("POST", try c.versioned("/swarm/init"), body: try Self.json(body))
            let id =
                (try? JSONDecoder().decode(String.self, from: Data(r.body))) ?? r.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
            return id
        }
    }

    /// The cluster as a manager sees it, with both join tokens.
    public func swarmInspect() async throws(EngineError) -> SwarmCluster {
        try await offPool { c in
            try c.decode(SwarmCluster.self, from: try c.send("GET", try c.versioned("/swarm"), body: nil), path: "/swarm")
        }
    }

    public func swarmJoin(
        managers: [String], token: String, advertiseAddress: String,
        listenAddress: String = "0.0.0.0:2377"
    ) async throws(EngineError) {
        try await offPool { c in
            let body: [String: Any] = [
                "ListenAddr": listenAddress, "AdvertiseAddr": advertiseAddress,
                "RemoteAddrs": managers, "JoinToken": token,
            ]
            _ = try c.send("POST", try c.versioned("/swarm/join"), body: try Self.json(body))
        }
    }

    public func swarmLeave(force: Bool) async throws(EngineError) {
        try await offPool { c in
            _ = try c.send("POST", try c.versioned("/swarm/leave" + (force ? "?force=true" : "")), body: nil)
        }
    }

    /// This daemon's own view: whether it is in a swarm, as what, its node ID, and whether
    /// live-restore is on (which Swarm mode refuses): one `/info`.
    public func swarmState() async throws(EngineError) -> LocalSwarmState {
        try await offPool { c in
            struct Info: Decodable { var Swarm: LocalSwarmState?; var LiveRestoreEnabled: Bool? }
            let info = try c.decode(Info.self, from: try c.send("GET", try c.versioned("/info"), body: nil), path: "/info")
            var state =
                info.Swarm ?? LocalSwarmState(nodeID: "", nodeAddress: "", localNodeState: "inactive", controlAvailable: false, error: nil)
            state.liveRestoreEnabled = info.LiveRestoreEnabled ?? false
            return state
        }
    }

    public func nodes() async throws(EngineError) -> [SwarmNode] {
        try await offPool { c in
            try c.decode([SwarmNode].self, from: try c.send("GET", try c.versioned("/nodes"), body: nil), path: "/nodes")
        }
    }

    /// Changes a node's role or availability (a manager's call); `version` is the node's
    /// current `Version.Index`, as the API requires.
    public func updateNode(_ node: SwarmNode, role: String? = nil, availability: String? = nil) async throws(EngineError) {
        try await offPool { c in
            var spec = node.spec
            if let role { spec.role = role }
            if let availability { spec.availability = availability }
            let data: Data
            do { data = try JSONEncoder().encode(spec) } catch {
                throw EngineError.invalidResponse(c.endpoint, path: "/nodes", detail: "\(error)")
            }
            _ = try c.send("POST", try c.versioned("/nodes/\(node.id)/update?version=\(node.version.index)"), body: data)
        }
    }

    public func removeNode(id: String, force: Bool) async throws(EngineError) {
        try await offPool { c in
            _ = try c.send("DELETE", try c.versioned("/nodes/\(id)" + (force ? "?force=true" : "")), body: nil)
        }
    }

    static func json(_ object: [String: Any]) throws(EngineError) -> Data {
        do { return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) } catch {
            throw .invalidURL("request body", reason: "\(error)")
        }
    }
}

public struct SwarmCluster: Sendable, Decodable {
    public struct JoinTokens: Sendable, Decodable {
        public var worker: String
        public var manager: String
        enum CodingKeys: String, CodingKey { case worker = "Worker", manager = "Manager" }
    }
    public var id: String
    public var joinTokens: JoinTokens
    enum CodingKeys: String, CodingKey { case id = "ID", joinTokens = "JoinTokens" }
}

public struct LocalSwarmState: Sendable, Decodable, Equatable {
    public var nodeID: String
    public var nodeAddress: String
    /// inactive, pending, active, error or locked.
    public var localNodeState: String
    /// A manager (its API answers the cluster's calls).
    public var controlAvailable: Bool
    public var error: String?
    /// From `/info`'s top level (not its Swarm object).
    public var liveRestoreEnabled = false
    enum CodingKeys: String, CodingKey {
        case nodeID = "NodeID", nodeAddress = "NodeAddr", localNodeState = "LocalNodeState"
        case controlAvailable = "ControlAvailable", error = "Error"
    }
    public init(nodeID: String, nodeAddress: String, localNodeState: String, controlAvailable: Bool, error: String?) {
        self.nodeID = nodeID
        self.nodeAddress = nodeAddress
        self.localNodeState = localNodeState
        self.controlAvailable = controlAvailable
        self.error = error
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodeID = try c.decodeIfPresent(String.self, forKey: .nodeID) ?? ""
        nodeAddress = try c.decodeIfPresent(String.self, forKey: .nodeAddress) ?? ""
        localNodeState = try c.decodeIfPresent(String.self, forKey: .localNodeState) ?? "inactive"
        controlAvailable = try c.decodeIfPresent(Bool.self, forKey: .controlAvailable) ?? false
        error = try c.decodeIfPresent(String.self, forKey: .error).flatMap { $0.isEmpty ? nil : $0 }
    }
}

public struct SwarmNode: Sendable, Decodable, Equatable {
    public struct Version: Sendable, Decodable, Equatable {
        public var index: Int
        enum CodingKeys: String, CodingKey { case index = "Index" }
    }
    /// Kept whole (labels included) so an update sends back everything it does not change.
    public struct Spec: Sendable, Codable, Equatable {
        public var role: String
        public var availability: String
        public var labels: [String: String]?
        public var name: String?
        enum CodingKeys: String, CodingKey { case role = "Role", availability = "Availability", labels = "Labels", name = "Name" }
    }
    public struct Status: Sendable, Decodable, Equatable {
        public var state: String
        public var address: String?
        enum CodingKeys: String, CodingKey { case state = "State", address = "Addr" }
    }
    public struct ManagerStatus: Sendable, Decodable, Equatable {
        public var leader: Bool?
        public var reachability: String
        public var address: String?
        enum CodingKeys: String, CodingKey { case leader = "Leader", reachability = "Reachability", address = "Addr" }
    }
    public struct Description: Sendable, Decodable, Equatable {
        public var hostname: String?
        enum CodingKeys: String, CodingKey { case hostname = "Hostname" }
    }
    public var id: String
    public var version: Version
    public var spec: Spec
    public var status: Status
    public var managerStatus: ManagerStatus?
    public var description: Description?
    enum CodingKeys: String, CodingKey {
        case id = "ID", version = "Version", spec = "Spec", status = "Status", managerStatus = "ManagerStatus", description = "Description"
    }
}
