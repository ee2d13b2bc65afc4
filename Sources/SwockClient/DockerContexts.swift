import Foundation
import SwockPKI
import SwockStore
import SwockSupport

/// Why a docker context could not be written, removed or selected. One line each, saying what to do.
public enum DockerContextError: CodedError, Equatable, Sendable {
    /// The machine's name cannot name a docker context ("default" is reserved, names need 2+ characters).
    case invalidName(String, reason: String)
    /// A context of that name exists and swock-machine did not write it; nothing was touched.
    case notOurs(String)
    /// `setCurrent` on a context that does not exist.
    case notFound(String)
    /// `<root>/config.json` is not a JSON object.
    case unreadableConfig(path: String, reason: String)
    case io(path: String, reason: String)

    public var code: ErrorCode {
        switch self {
        case .invalidName: "client.context-invalid-name"
        case .notOurs: "client.context-not-ours"
        case .notFound: "client.context-not-found"
        case .unreadableConfig: "client.context-unreadable-config"
        case .io: "client.context-io"
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return "no docker context for machine \"\(name)\": \(reason)"
        case .notOurs(let name):
            return
                "docker context \"\(name)\" was not created by swock-machine, so it was left alone; remove it (`docker context rm \(name)`) if swock-machine should manage it"
        case .notFound(let name):
            return "docker context \"\(name)\" does not exist"
        case .unreadableConfig(let path, let reason):
            return "docker CLI config \(path) is unreadable (\(reason)); fix it or move it aside, then retry"
        case .io(let path, let reason):
            return "docker context store: \(path): \(reason); check its permissions, or point DOCKER_CONFIG elsewhere"
        }
    }
}

/// The docker CLI's context store, so that `docker --context NAME ps` reaches a machine:
///
///     <root>/contexts/meta/<sha256(NAME)>/meta.json
///     <root>/contexts/tls/<sha256(NAME)>/docker/{ca,cert,key}.pem
///     <root>/config.json                    "currentContext": NAME
///
/// `root` is `$DOCKER_CONFIG`, else `~/.docker`. Contexts written here carry
/// `"SwockMachine": true` in their Metadata (the CLI keeps unknown Metadata keys); only those are
/// ever rewritten or removed. Directories swock-machine creates are 0700, files 0600, every
/// write atomic; read-modify-writes run under an flock on `root` (no lock file is left behind).
public struct DockerContexts: Sendable {
    public let root: String

    /// The Metadata key that marks a context as swock-machine's.
    public static let markerKey = "SwockMachine"
    /// Informational: the store the context was written from.
    public static let storeKey = "SwockMachineStore"

    public init(root: String? = nil) {
        let r = root ?? Self.defaultRoot()
        self.root = (r as NSString).standardizingPath
    }

    /// `$DOCKER_CONFIG`, else `$HOME/.docker` (what the docker CLI reads).
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let d = environment["DOCKER_CONFIG"], !d.isEmpty { return d }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.docker"
    }

    // MARK: - Names and paths

    /// The docker CLI's rule, `^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$`, minus the reserved `default`.
    public static func validateName(_ name: String) throws {
        if name == "default" {
            throw DockerContextError.invalidName(name, reason: "\"default\" is reserved by the docker CLI")
        }
        let bytes = Array(name.utf8)
        let alnum: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
        guard bytes.count >= 2 else {
            throw DockerContextError.invalidName(name, reason: "docker context names need at least 2 characters")
        }
        guard alnum(bytes[0]),
            bytes.dropFirst().allSatisfy({
                alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
            })
        else {
            throw DockerContextError.invalidName(name, reason: "docker context names match ^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$")
        }
    }

    public static func isValidName(_ name: String) -> Bool { (try? validateName(name)) != nil }

    /// The folder name the docker CLI uses for a context: lowercase hex SHA-256 of the name.
    public static func directoryName(_ name: String) -> String { Digests.sha256Hex(name) }

    public var configPath: String { root + "/config.json" }
    var contextsDir: String { root + "/contexts" }
    public func metaDirectory(_ name: String) -> String { contextsDir + "/meta/" + Self.directoryName(name) }
    public func metaPath(_ name: String) -> String { metaDirectory(name) + "/meta.json" }
    public func tlsDirectory(_ name: String) -> String { contextsDir + "/tls/" + Self.directoryName(name) }

    // MARK: - Queries

    /// A context of that name exists (ours or not).
    public func exists(name: String) -> Bool {
        Self.isValidName(name) && FileManager.default.fileExists(atPath: metaPath(name))
    }

    /// The context exists and carries swock-machine's marker.
    public func isOurs(name: String) -> Bool {
        guard Self.isValidName(name), let data = FileManager.default.contents(atPath: metaPath(name)) else { return false }
        struct Probe: Decodable {
            struct Metadata: Decodable {
                var marker: Bool?
                enum CodingKeys: String, CodingKey { case marker = "SwockMachine" }
            }
            var Name: String?
            var Metadata: Metadata?
        }
        guard let p = try? JSONDecoder().decode(Probe.self, from: data) else { return false }
        return p.Name == name && p.Metadata?.marker == true
    }

    /// `currentContext` in config.json (nil when unset, empty, or the file is missing or broken).
    public func current() -> String? {
        guard let data = FileManager.default.contents(atPath: configPath),
            let obj = try? JSONObjectText(parsing: data),
            let raw = obj.lastValue(of: Self.currentKey),
            let s = try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: .fragmentsAllowed) as? String,
            !s.isEmpty
        else { return nil }
        return s
    }

    // MARK: - Changes

    /// Creates or refreshes the context named after the machine: endpoint `tcp://ADDRESS:PORT`
    /// with TLS verification and the machine's ca.pem, cert.pem and key.pem (for a machine behind
    /// jump hosts those of `Store.dockerCertPath`: its own server certificate as the CA).
    /// Throws `.invalidName` for names the CLI cannot use (e.g. "default": no context, say so),
    /// `.notOurs` when the user has a context of that name (it is not touched), and
    /// `StoreError.missingFile` when the machine has no client certificates yet.
    public func write(machine: MachineConfig, store: Store) throws {
        let name = machine.name
        try Self.validateName(name)
        // The docker CLI's files (`Store.dockerCertPath`): behind jump hosts, the machine's own certificate is its CA.
        try store.refreshDockerCertPath(machine)
        let folder = machine.isBehindJumpHosts ? Store.pinnedTLSFolder + "/" : ""
        let ca = try store.readMachineFile(name, folder + "ca.pem")
        let cert = try store.readMachineFile(name, folder + "cert.pem")
        let key = try store.readMachineFile(name, folder + "key.pem")
        let meta = try Self.metaJSON(name: name, host: machine.clientURL, storeRoot: store.root)
        try makeDirectory(root)
        try withLock {
            if exists(name: name) && !isOurs(name: name) { throw DockerContextError.notOurs(name) }
            try makeDirectory(contextsDir)
            try makeDirectory(contextsDir + "/meta")
            try makeDirectory(contextsDir + "/tls")
            let tls = tlsDirectory(name) + "/docker"
            for d in [metaDirectory(name), tlsDirectory(name), tls] { try makeOwnDirectory(d) }
            // TLS first: the context becomes visible (meta.json) only once its material is there.
            try atomicWrite(Data(ca.utf8), to: tls + "/ca.pem", mode: 0o600)
            try atomicWrite(Data(cert.utf8), to: tls + "/cert.pem", mode: 0o600)
            try atomicWrite(Data(key.utf8), to: tls + "/key.pem", mode: 0o600)
            try atomicWrite(meta, to: metaPath(name), mode: 0o600)
        }
    }

    /// Removes swock-machine's context NAME (and unsets it as the CLI's current context first).
    /// Returns false when there is no such context. Throws `.notOurs`, touching nothing, when
    /// the context exists but swock-machine did not write it: callers report it as a warning.
    @discardableResult
    public func remove(name: String) throws -> Bool {
        guard Self.isValidName(name), FileManager.default.fileExists(atPath: root) else { return false }
        return try withLock {
            guard exists(name: name) else { return false }
            guard isOurs(name: name) else { throw DockerContextError.notOurs(name) }
            // A current context that is gone breaks every docker command: unset it first.
            try clearCurrentLocked(ifIs: name)
            // Renamed out of the CLI's view first (one rename each), then deleted.
            let tag = "\(Self.directoryName(name))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            for (dir, kind) in [(metaDirectory(name), "meta"), (tlsDirectory(name), "tls")] {
                guard FileManager.default.fileExists(atPath: dir) else { continue }
                let trash = contextsDir + "/.swock-removing-\(kind)-\(tag)"
                guard rename(dir, trash) == 0 else { throw DockerContextError.io(path: dir, reason: LocalFileError.errnoText()) }
                try? FileManager.default.removeItem(atPath: trash)
            }
            return true
        }
    }

    /// Makes NAME the docker CLI's current context (`currentContext` in config.json; every other
    /// key of that file is kept byte for byte, as are its mode and owner; created 0600 if missing).
    /// "default" unsets it, as `docker context use default` does.
    public func setCurrent(name: String) throws {
        if name == "default" { return try clearCurrent(ifIs: nil) }
        try Self.validateName(name)
        guard exists(name: name) else { throw DockerContextError.notFound(name) }
        try makeDirectory(root)
        try withLock {
            try editConfig { $0.set(Self.currentKey, jsonValue: Self.jsonString(name)) }
        }
    }

    /// Unsets the docker CLI's current context if it is `ifIs` (any context when nil).
    public func clearCurrent(ifIs name: String?) throws {
        guard FileManager.default.fileExists(atPath: configPath) else { return }
        try withLock { try clearCurrentLocked(ifIs: name) }
    }

    // MARK: - Internals

    static let currentKey = "currentContext"

    private func clearCurrentLocked(ifIs name: String?) throws {
        guard let cur = current() else {
            // Possibly an empty "currentContext": "" — nothing to clear either way.
            return
        }
        if let name, cur != name { return }
        try editConfig { $0.remove(Self.currentKey) }
    }

    /// Read-modify-write of config.json keeping everything but what `change` edits.
    private func editConfig(_ change: (inout JSONObjectText) -> Void) throws {
        var path = configPath
        var st = stat()
        var existed = false
        if lstat(path, &st) == 0 {
            existed = true
            if (st.st_mode & S_IFMT) == S_IFLNK {
                // Keep a symlinked config.json (dotfile managers) a symlink: write its target.
                guard let real = realpath(path, nil) else { throw DockerContextError.io(path: path, reason: LocalFileError.errnoText()) }
                path = String(cString: real)
                free(real)
                guard stat(path, &st) == 0 else { throw DockerContextError.io(path: path, reason: LocalFileError.errnoText()) }
            }
        }
        var obj: JSONObjectText
        if existed {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DockerContextError.io(path: path, reason: "cannot read it")
            }
            do { obj = try JSONObjectText(parsing: data) } catch let e as JSONObjectText.ParseError {
                throw DockerContextError.unreadableConfig(path: path, reason: e.reason)
            }
        } else {
            obj = JSONObjectText.empty
        }
        let before = obj.text
        change(&obj)
        let after = obj.text
        if existed && after == before { return }
        let mode: mode_t = existed ? mode_t(st.st_mode & 0o7777) : 0o600
        try atomicWrite(Data(after.utf8), to: path, mode: mode)
        if existed && (st.st_uid != geteuid() || st.st_gid != getegid()) {
            _ = chown(path, st.st_uid, st.st_gid)  // e.g. run under sudo: the user keeps the file
        }
    }

    static func jsonString(_ s: String) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        return (try? enc.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    /// `storeRoot` nil: a context that is not swock-machine's (no marker), for `docker context import`.
    static func metaJSON(name: String, host: String, storeRoot: String?) throws -> Data {
        struct Meta: Encodable {
            struct Metadata: Encodable {
                var description: String
                var marker: Bool?
                var store: String?
                enum CodingKeys: String, CodingKey {
                    case description = "Description", marker = "SwockMachine", store = "SwockMachineStore"
                }
            }
            struct Endpoint: Encodable {
                var host: String
                var skipTLSVerify = false
                enum CodingKeys: String, CodingKey { case host = "Host", skipTLSVerify = "SkipTLSVerify" }
            }
            var name: String
            var metadata: Metadata
            var endpoints: [String: Endpoint]
            enum CodingKeys: String, CodingKey { case name = "Name", metadata = "Metadata", endpoints = "Endpoints" }
        }
        let m = Meta(
            name: name,
            metadata: .init(description: "swock-machine: \(name) (\(host))", marker: storeRoot == nil ? nil : true, store: storeRoot),
            endpoints: ["docker": .init(host: host)])
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(m)
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DockerContextError.io(path: root, reason: LocalFileError.errnoText()) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw DockerContextError.io(path: root, reason: "cannot lock: \(LocalFileError.errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// mkdir -p with 0700 for what it creates; existing directories keep their mode.
    private func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
        if errno == ENOENT {
            let parent = PathText.parent(path)
            if !parent.isEmpty && parent != path {
                try makeDirectory(parent)
                if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
            }
        }
        throw DockerContextError.io(path: path, reason: LocalFileError.errnoText())
    }

    /// A directory that is swock-machine's alone: created 0700, and kept 0700.
    private func makeOwnDirectory(_ path: String) throws {
        try makeDirectory(path)
        guard chmod(path, 0o700) == 0 else { throw DockerContextError.io(path: path, reason: LocalFileError.errnoText()) }
    }

    private func atomicWrite(_ data: Data, to path: String, mode: mode_t) throws {
        do {
            try AtomicFile.write(data, to: path, mode: mode)
        } catch StoreError.io(_, let reason) {
            throw DockerContextError.io(path: path, reason: reason)
        }
    }
}
