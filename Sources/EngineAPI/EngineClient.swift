import Foundation
import SwockSupport
import Synchronization

/// A Docker Engine API client for one daemon over mutual TLS. Each call opens a fresh connection
/// (`Connection: close`) bounded by `timeout`. The async calls run on a thread of their own; the
/// `…Sync` variants block the calling thread (never call them from Swift's cooperative pool).
public struct EngineClient: Sendable {
    public let endpoint: EngineEndpoint
    public let timeout: Duration
    /// DOCKER_API_VERSION, when set: used as is, without negotiation.
    public let apiVersionOverride: String?
    private let cache = NegotiatedVersionCache()

    public init(
        endpoint: EngineEndpoint, timeout: Duration = .seconds(10),
        apiVersionOverride: String? = EngineClient.environmentAPIVersion()
    ) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.apiVersionOverride = APIVersion.normalized(apiVersionOverride)
    }

    /// DOCKER_API_VERSION from the environment. Read with getenv: ProcessInfo's `environment`
    /// copies every variable into a dictionary, and `ls` makes a client per machine.
    public static func environmentAPIVersion() -> String? {
        getenv("DOCKER_API_VERSION").map { String(cString: $0) }
    }

    // MARK: async

    public func ping() async throws(EngineError) -> Ping { try await offPool { try $0.pingSync() } }
    public func version() async throws(EngineError) -> EngineVersion { try await offPool { try $0.versionSync() } }
    public func info() async throws(EngineError) -> EngineInfo { try await offPool { try $0.infoSync() } }
    public func containers(all: Bool) async throws(EngineError) -> [ContainerSummary] {
        try await offPool { try $0.containersSync(all: all) }
    }
    /// The API version used for versioned paths; asks the daemon once per client instance.
    public func negotiatedAPIVersion() async throws(EngineError) -> String {
        if let known = cachedAPIVersion { return known }
        return try await offPool { try $0.negotiatedAPIVersionSync() }
    }

    // MARK: blocking

    public func pingSync() throws(EngineError) -> Ping {
        Ping(headers: try get("/_ping").headers)
    }

    public func versionSync() throws(EngineError) -> EngineVersion {
        let v = try decode(EngineVersion.self, from: get("/version"), path: "/version")
        if apiVersionOverride == nil {
            cache.store(APIVersion.negotiate(serverMax: v.apiVersion, serverMin: v.minAPIVersion, override: nil))
        }
        return v
    }

    public func infoSync() throws(EngineError) -> EngineInfo {
        try decode(EngineInfo.self, from: get(versioned("/info")), path: "/info")
    }

    public func containersSync(all: Bool) throws(EngineError) -> [ContainerSummary] {
        let path = "/containers/json" + (all ? "?all=1" : "")
        return try decode([ContainerSummary].self, from: get(versioned(path)), path: path)
    }

    public func negotiatedAPIVersionSync() throws(EngineError) -> String {
        if let known = cachedAPIVersion { return known }
        _ = try versionSync()
        return cache.value ?? APIVersion.clientMaximum
    }

    var cachedAPIVersion: String? { apiVersionOverride ?? cache.value }

    // MARK: plumbing

    func offPool<T: Sendable>(_ body: @escaping @Sendable (EngineClient) throws -> T) async throws(EngineError) -> T {
        let client = self
        do {
            return try await OffPool.run("engine \(endpoint.address)") { try body(client) }
        } catch let error as EngineError {
            throw error
        } catch {
            throw .network(endpoint, detail: "\(error)")  // not reached: the bodies throw EngineError only
        }
    }

    func versioned(_ path: String) throws(EngineError) -> String {
        "/v\(try negotiatedAPIVersionSync())\(path)"
    }

    /// GET path; a non-2xx status becomes EngineError.http (named by the unversioned path).
    private func get(_ path: String) throws(EngineError) -> HTTPResponse {
        try send("GET", path, body: nil)
    }

    /// Any method, with an optional JSON body; a non-2xx status becomes EngineError.http.
    func send(_ method: String, _ path: String, body: Data?) throws(EngineError) -> HTTPResponse {
        let response = try HTTPExchange.send(method, path, body: body, endpoint: endpoint, timeout: timeout)
        guard (200..<300).contains(response.status) else {
            throw .http(
                endpoint, status: response.status, path: Self.unversioned(path),
                message: Self.errorMessage(response))
        }
        return response
    }

    func decode<T: Decodable>(_ type: T.Type, from response: HTTPResponse, path: String) throws(EngineError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw .invalidResponse(endpoint, path: path, detail: "cannot decode the JSON body: \(Self.describe(error))")
        }
    }

    /// "/v1.41/info" -> "/info"
    static func unversioned(_ path: String) -> String {
        guard path.hasPrefix("/v"), let slash = path.dropFirst(2).firstIndex(of: "/") else { return path }
        let version = path[path.index(path.startIndex, offsetBy: 2)..<slash]
        guard !version.isEmpty, version.allSatisfy({ $0.isNumber || $0 == "." }) else { return path }
        return String(path[slash...])
    }

    /// The `message` of Docker's JSON error body, else the body's first line, else the reason.
    static func errorMessage(_ response: HTTPResponse) -> String {
        struct DockerError: Decodable { var message: String }
        if let e = try? JSONDecoder().decode(DockerError.self, from: Data(response.body)), !e.message.isEmpty {
            return e.message
        }
        let text = response.bodyText.trimmingWhitespace()
        if let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty { return String(line.prefix(300)) }
        return response.reason.isEmpty ? "no details" : response.reason
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(let type, let ctx): "\(ctx.codingPath.map(\.stringValue).joined(separator: ".")) is not a \(type)"
        case DecodingError.valueNotFound(_, let ctx): "\(ctx.codingPath.map(\.stringValue).joined(separator: ".")) is null"
        case DecodingError.dataCorrupted: "not valid JSON"
        default: "\(error)"
        }
    }
}

extension Ping {
    /// From the headers of a /_ping response.
    init(headers h: HTTPHeaders) {
        self.init(
            apiVersion: h["Api-Version"], osType: h["OSType"],
            experimental: h["Docker-Experimental"]?.lowercased() == "true",
            builderVersion: h["Builder-Version"], engineVersion: Ping.engineVersion(fromServerHeader: h["Server"]))
    }
}

/// The negotiated version, shared by copies of one client.
final class NegotiatedVersionCache: Sendable {
    private let stored = Mutex<String?>(nil)

    var value: String? { stored.withLock { $0 } }
    func store(_ version: String) { stored.withLock { $0 = version } }
}
