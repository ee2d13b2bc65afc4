import Foundation
import SwockSupport

/// The local inventory:
///
///     <root>/.lock                      store-wide lock
///     <root>/active                     the active machine's name
///     <root>/server-names               what the server certificates cover, by PEM hash (a cache)
///     <root>/certs/{ca,ca-key,cert,key}.pem
///     <root>/machines/NAME/config.json  the record
///     <root>/machines/NAME/{ca,cert,key}.pem            what a docker client needs
///     <root>/machines/NAME/{server,server-key}.pem      the daemon's certificate
///     <root>/machines/NAME/known_hosts  the pinned SSH host key
///     <root>/machines/NAME/id_ed25519   a generated SSH key (password bootstrap only)
///
/// Directories are 0700, every file 0600. Every write is atomic; shared state changes under
/// the store lock.
public struct Store: Sendable {
    public let root: String

    public init(root: String) {
        // Absolute, so that every path derived from it is too (and prints usefully).
        let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.root = (absolute as NSString).standardizingPath
    }

    /// `--storage-path`, else `$SWOCK_MACHINE_STORAGE_PATH`, else `~/.swock/machine`.
    public static func resolveRoot(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let f = flag, !f.isEmpty { return (f as NSString).expandingTildeInPath }
        if let e = environment["SWOCK_MACHINE_STORAGE_PATH"], !e.isEmpty { return (e as NSString).expandingTildeInPath }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.swock/machine"
    }

    public var certsDir: String { root + "/certs" }
    public var machinesDir: String { root + "/machines" }
    public func machineDir(_ name: String) -> String { machinesDir + "/" + name }
    public func configPath(_ name: String) -> String { machineDir(name) + "/config.json" }
    public var lock: StoreLock { StoreLock(path: root + "/.lock") }

    /// Store-relative paths of a machine's files, as records keep them.
    public static func knownHostsPath(_ name: String) -> String { "machines/\(name)/known_hosts" }
    public static func generatedKeyPath(_ name: String) -> String { "machines/\(name)/id_ed25519" }
    /// The password sudo asks for on the host, when create was given one (0600, never logged).
    public static func sudoPasswordPath(_ name: String) -> String { "machines/\(name)/sudo-password" }

    /// An absolute path for a path stored in a record (relative to the store, or absolute).
    public func resolve(_ stored: String) -> String {
        stored.hasPrefix("/") ? stored : root + "/" + stored
    }

    /// The store-relative form of a path inside the store (absolute paths outside stay as they are).
    public func relative(_ absolute: String) -> String {
        let prefix = root + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }

    // MARK: - Directories

    public func ensureLayout() throws {
        for d in [root, certsDir, machinesDir] { try Self.makeDirectory(d) }
    }

    package static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            if errno == ENOENT {
                try makeDirectory(PathText.parent(path))
                if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
            }
            throw StoreError.io(path: path, reason: LocalFileError.errnoText())
        }
    }

    // MARK: - Machines

    /// NAME is taken: its directory is there (and is not an abandoned claim, see `isAbandonedClaim`).
    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: machineDir(name)) && !isAbandonedClaim(name)
    }

    /// Claims NAME: the record and `files` (names in the machine's directory; 0600) are written
    /// into a hidden staging directory, which then becomes `machines/NAME` in one rename. A
    /// listing sees the machine whole or not at all, and a create killed at any point leaves no
    /// half-claimed name, only a staging directory `sweepLeftovers` takes away. rename(2) fails
    /// when NAME exists, so of two creates of one name one wins. Throws `alreadyExists` before
    /// writing anything when the name is taken.
    public func reserve(_ config: MachineConfig, files: [String: Data] = [:]) throws {
        try MachineName.validate(config.name)
        try ensureLayout()
        if exists(config.name) { throw StoreError.alreadyExists(config.name) }
        sweepLeftovers()
        let staging = try stagingDirectory(for: config.name, kind: .claim)
        do {
            for (file, data) in files { try AtomicFile.write(data, to: staging + "/" + file, mode: 0o600) }
            var c = config
            c.updatedAt = Date()
            try AtomicFile.write(Self.encode(c), to: staging + "/config.json", mode: 0o600)
            try claim(config.name, from: staging)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// A new hidden directory in `machines/` for assembling NAME (see `Leftover`).
    package func stagingDirectory(for name: String, kind: Leftover.Kind) throws -> String {
        let path = machinesDir + "/" + Leftover.name(kind, for: name)
        guard mkdir(path, 0o700) == 0 else { throw StoreError.io(path: path, reason: LocalFileError.errnoText()) }
        return path
    }

    /// Makes a complete staging directory `machines/NAME`, in one step; `alreadyExists` when
    /// NAME is there (a directory that is not empty cannot be renamed over).
    package func claim(_ name: String, from staging: String) throws {
        guard rename(staging, machineDir(name)) == 0 else {
            let e = errno
            if e == EEXIST || e == ENOTEMPTY { throw StoreError.alreadyExists(name) }
            throw StoreError.io(path: machineDir(name), reason: String(cString: strerror(e)))
        }
        AtomicFile.syncDirectory(machinesDir)
    }

    public func load(_ name: String) throws -> MachineConfig {
        try MachineName.validate(name)
        let path = configPath(name)
        guard let data = FileManager.default.contents(atPath: path) else {
            if exists(name) { throw StoreError.corrupt(name: name, path: relative(path), reason: "config.json is missing") }
            throw StoreError.notFound(name)
        }
        return try Self.decode(data, name: name, path: relative(path))
    }

    package static func decode(_ data: Data, name: String, path: String) throws -> MachineConfig {
        // The common case without Codable's costs; anything it is unsure of goes to JSONDecoder.
        if let config = RecordDecoder.decode(data) { return config }
        return try decodeCodable(data, name: name, path: path)
    }

    /// `decode` with JSONDecoder alone: it decides on every record, and names what is wrong.
    package static func decodeCodable(_ data: Data, name: String, path: String) throws -> MachineConfig {
        struct VersionOnly: Decodable { var configVersion: Int? }
        let decoder = JSONDecoder()
        // Like .iso8601, but a bad date names its field (the built-in strategy's error has no path).
        decoder.dateDecodingStrategy = .custom { d in
            let c = try d.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = ISO8601Time.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an ISO 8601 date, found \"\(text)\"")
            }
            return date
        }
        guard !data.isEmpty else { throw StoreError.corrupt(name: name, path: path, reason: "the file is empty") }
        let version: Int
        do {
            version = try decoder.decode(VersionOnly.self, from: data).configVersion ?? 0
        } catch {
            // Only now is it worth a second parse to say which: not JSON at all, or a bad field.
            guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
                throw StoreError.corrupt(name: name, path: path, reason: "not valid JSON")
            }
            throw StoreError.corrupt(name: name, path: path, reason: "field \"configVersion\" has the wrong type")
        }
        guard version <= MachineConfig.currentVersion else {
            throw StoreError.unsupportedVersion(name: name, found: version, supported: MachineConfig.currentVersion)
        }
        guard version >= 1 else {
            throw StoreError.corrupt(name: name, path: path, reason: "no configVersion field")
        }
        do {
            return try decoder.decode(MachineConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            let field = (ctx.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            throw StoreError.corrupt(name: name, path: path, reason: "field \"\(field)\" is missing")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            throw StoreError.corrupt(name: name, path: path, reason: "field \"\(field)\" has the wrong type")
        } catch let DecodingError.dataCorrupted(ctx) {
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            throw StoreError.corrupt(name: name, path: path, reason: "field \"\(field)\" has a bad value (\(ctx.debugDescription))")
        } catch {
            throw StoreError.corrupt(name: name, path: path, reason: "\(error)")
        }
    }

    public static func encode(_ config: MachineConfig) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, e in
            var c = e.singleValueContainer()
            try c.encode(ISO8601Time.format(date))
        }
        var data = try encoder.encode(config)
        data.append(0x0a)
        return data
    }

    public func save(_ config: MachineConfig) throws {
        var c = config
        c.updatedAt = Date()
        try AtomicFile.write(Self.encode(c), to: configPath(config.name), mode: 0o600)
    }

    /// Load, change and save one record under the store lock.
    @discardableResult
    public func update(_ name: String, _ change: (inout MachineConfig) throws -> Void) throws -> MachineConfig {
        try lock.withLock {
            var c = try load(name)
            try change(&c)
            try save(c)
            return c
        }
    }

    /// Names of every machine directory, sorted.
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: machinesDir)) ?? []
        return entries.filter { !$0.hasPrefix(".") && (try? MachineName.validate($0)) != nil }.sorted()
    }

    /// Every record; a broken one is reported as an error without hiding the others.
    public func list() -> [(name: String, result: Result<MachineConfig, StoreError>)] {
        names().filter { !isAbandonedClaim($0) }.map { name in
            do { return (name, .success(try load(name))) } catch let e as StoreError { return (name, .failure(e)) } catch {
                return (name, .failure(.corrupt(name: name, path: relative(configPath(name)), reason: "\(error)")))
            }
        }
    }

    /// A directory with no record and nothing but hidden temp files in it: what a create of an
    /// older swock-machine (which made the directory first) left when it was killed. No machine:
    /// listings skip it, and a create of that name takes it over (rename replaces an empty one).
    func isAbandonedClaim(_ name: String) -> Bool {
        guard !FileManager.default.fileExists(atPath: configPath(name)),
            let entries = try? FileManager.default.contentsOfDirectory(atPath: machineDir(name))
        else { return false }
        return entries.allSatisfy { $0.hasPrefix(".") }
    }

    /// Removes the local record and all its files.
    public func remove(_ name: String) throws {
        try MachineName.validate(name)
        guard exists(name) else { throw StoreError.notFound(name) }
        try lock.withLock { try removeLocked(name) }
    }

    /// `remove`'s work, for callers that already hold the store lock.
    package func removeLocked(_ name: String) throws {
        // Checked again under the lock: a concurrent remove may have won.
        guard exists(name) else { throw StoreError.notFound(name) }
        // Rename first so that a half-removed directory is never mistaken for a machine (and a
        // removal killed half-way leaves a leftover `sweepLeftovers` finishes).
        let trash = machinesDir + "/" + Leftover.name(.removing, for: name)
        guard rename(machineDir(name), trash) == 0 else {
            throw StoreError.io(path: machineDir(name), reason: LocalFileError.errnoText())
        }
        try? FileManager.default.removeItem(atPath: trash)
        if activeMachine() == name { try? FileManager.default.removeItem(atPath: activePath) }
        sweepLeftovers()
    }

    // MARK: - Machine files

    public func writeMachineFile(_ name: String, _ file: String, _ contents: String) throws {
        try AtomicFile.write(contents, to: machineDir(name) + "/" + file, mode: 0o600)
    }

    public func readMachineFile(_ name: String, _ file: String) throws -> String {
        let path = machineDir(name) + "/" + file
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.missingFile(name: name, path: relative(path))
        }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Active machine

    var activePath: String { root + "/active" }

    public func activeMachine() -> String? {
        guard let d = FileManager.default.contents(atPath: activePath) else { return nil }
        let s = String(decoding: d, as: UTF8.self).trimmingWhitespace()
        return s.isEmpty ? nil : s
    }

    public func setActiveMachine(_ name: String?) throws {
        try ensureLayout()
        if let name {
            try AtomicFile.write(name + "\n", to: activePath, mode: 0o600)
        } else if FileManager.default.fileExists(atPath: activePath) {
            try FileManager.default.removeItem(atPath: activePath)
        }
    }
}
