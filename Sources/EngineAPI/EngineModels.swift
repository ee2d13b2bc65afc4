/// `GET /_ping`: the body is "OK"; the interesting parts are headers.
public struct Ping: Sendable, Equatable, Codable {
    /// `Api-Version`: the newest API version the daemon speaks.
    public var apiVersion: String?
    /// `OSType`: "linux" or "windows".
    public var osType: String?
    public var experimental: Bool
    public var builderVersion: String?
    /// The engine's version from the `Server: Docker/VERSION (OS)` header dockerd sends with
    /// every response; nil when the header is not of that form.
    public var engineVersion: String?

    public init(
        apiVersion: String?, osType: String? = nil, experimental: Bool = false, builderVersion: String? = nil,
        engineVersion: String? = nil
    ) {
        self.apiVersion = apiVersion
        self.osType = osType
        self.experimental = experimental
        self.builderVersion = builderVersion
        self.engineVersion = engineVersion
    }

    /// "Docker/20.10.24+dfsg1 (linux)" -> "20.10.24+dfsg1"; nil for anything else.
    public static func engineVersion(fromServerHeader header: String?) -> String? {
        guard let header, header.hasPrefix("Docker/") else { return nil }
        let version = header.dropFirst("Docker/".count).prefix { $0 != " " }
        guard let first = version.first, first.isNumber, version.allSatisfy({ !$0.isWhitespace && $0 != "/" }) else { return nil }
        return String(version)
    }
}

/// `GET /version`.
public struct EngineVersion: Sendable, Codable, Equatable {
    public var version: String
    public var apiVersion: String
    public var minAPIVersion: String?
    public var os: String
    public var arch: String
    public var kernelVersion: String?
    public var gitCommit: String?
    public var goVersion: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion", os = "Os"
        case arch = "Arch", kernelVersion = "KernelVersion", gitCommit = "GitCommit", goVersion = "GoVersion"
    }

    public init(
        version: String, apiVersion: String, minAPIVersion: String? = nil, os: String = "linux",
        arch: String = "amd64", kernelVersion: String? = nil, gitCommit: String? = nil, goVersion: String? = nil
    ) {
        self.version = version
        self.apiVersion = apiVersion
        self.minAPIVersion = minAPIVersion
        self.os = os
        self.arch = arch
        self.kernelVersion = kernelVersion
        self.gitCommit = gitCommit
        self.goVersion = goVersion
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(String.self, forKey: .version)
        apiVersion = try c.decode(String.self, forKey: .apiVersion)
        minAPIVersion = try c.decodeIfPresent(String.self, forKey: .minAPIVersion)
        os = try c.decodeIfPresent(String.self, forKey: .os) ?? ""
        arch = try c.decodeIfPresent(String.self, forKey: .arch) ?? ""
        kernelVersion = try c.decodeIfPresent(String.self, forKey: .kernelVersion)
        gitCommit = try c.decodeIfPresent(String.self, forKey: .gitCommit)
        goVersion = try c.decodeIfPresent(String.self, forKey: .goVersion)
    }
}

/// `GET /vX.Y/info` (the fields swock-machine uses).
public struct EngineInfo: Sendable, Codable, Equatable {
    public var id: String?
    public var name: String
    public var serverVersion: String
    public var containers: Int
    public var containersRunning: Int
    public var containersPaused: Int
    public var containersStopped: Int
    public var images: Int
    public var labels: [String]
    public var operatingSystem: String?
    public var osType: String?
    public var architecture: String?
    public var kernelVersion: String?
    public var ncpu: Int?
    public var memTotal: Int64?
    public var driver: String?

    enum CodingKeys: String, CodingKey {
        case id = "ID", name = "Name", serverVersion = "ServerVersion", containers = "Containers"
        case containersRunning = "ContainersRunning", containersPaused = "ContainersPaused"
        case containersStopped = "ContainersStopped", images = "Images", labels = "Labels"
        case operatingSystem = "OperatingSystem", osType = "OSType", architecture = "Architecture"
        case kernelVersion = "KernelVersion", ncpu = "NCPU", memTotal = "MemTotal", driver = "Driver"
    }

    public init(
        name: String, serverVersion: String, containers: Int = 0, containersRunning: Int = 0,
        containersPaused: Int = 0, containersStopped: Int = 0, images: Int = 0, labels: [String] = []
    ) {
        self.name = name
        self.serverVersion = serverVersion
        self.containers = containers
        self.containersRunning = containersRunning
        self.containersPaused = containersPaused
        self.containersStopped = containersStopped
        self.images = images
        self.labels = labels
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        serverVersion = try c.decodeIfPresent(String.self, forKey: .serverVersion) ?? ""
        containers = try c.decodeIfPresent(Int.self, forKey: .containers) ?? 0
        containersRunning = try c.decodeIfPresent(Int.self, forKey: .containersRunning) ?? 0
        containersPaused = try c.decodeIfPresent(Int.self, forKey: .containersPaused) ?? 0
        containersStopped = try c.decodeIfPresent(Int.self, forKey: .containersStopped) ?? 0
        images = try c.decodeIfPresent(Int.self, forKey: .images) ?? 0
        labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
        operatingSystem = try c.decodeIfPresent(String.self, forKey: .operatingSystem)
        osType = try c.decodeIfPresent(String.self, forKey: .osType)
        architecture = try c.decodeIfPresent(String.self, forKey: .architecture)
        kernelVersion = try c.decodeIfPresent(String.self, forKey: .kernelVersion)
        ncpu = try c.decodeIfPresent(Int.self, forKey: .ncpu)
        memTotal = try c.decodeIfPresent(Int64.self, forKey: .memTotal)
        driver = try c.decodeIfPresent(String.self, forKey: .driver)
    }
}

/// One entry of `GET /vX.Y/containers/json`.
public struct ContainerSummary: Sendable, Codable, Equatable {
    public var id: String
    public var names: [String]
    public var image: String
    public var state: String
    public var status: String
    public var created: Int64?
    public var labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", state = "State", status = "Status"
        case created = "Created", labels = "Labels"
    }

    public init(
        id: String, names: [String], image: String, state: String, status: String,
        created: Int64? = nil, labels: [String: String] = [:]
    ) {
        self.id = id
        self.names = names
        self.image = image
        self.state = state
        self.status = status
        self.created = created
        self.labels = labels
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try c.decodeIfPresent(String.self, forKey: .image) ?? ""
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? ""
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
        created = try c.decodeIfPresent(Int64.self, forKey: .created)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}
