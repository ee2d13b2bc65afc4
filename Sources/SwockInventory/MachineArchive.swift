import Foundation
import SwockPKI
import SwockStore
import SwockSupport

/// What `export` writes and `import` reads: a tar archive (optionally sealed with a
/// passphrase, see `PassphraseSeal`) holding
///
///     manifest.json                     format, version, machines, SHA-256 of every other file
///     machines/NAME/config.json         the record
///     machines/NAME/{ca,cert,key}.pem   what a docker client needs
///     machines/NAME/server{,-key}.pem   the daemon's certificate (provision reuses it)
///     machines/NAME/known_hosts         the pinned host key
///     machines/NAME/id_ed25519          the SSH key, when create generated one
///     machines/NAME/sudo-password       the password sudo asks for, when create was given one
///     cas/ID/ca-key.pem                 with --with-ca-key: the key of each machine's CA
///
/// ID names a CA by its certificate (`Store.caID`). Every file is checked against the
/// manifest on reading, so a changed or cut archive is refused before anything is written.
public struct MachineArchive: Sendable, Equatable {
    public static let format = "swock-machine-export"
    public static let version = 1
    /// A machine's files besides config.json, in the order they are written.
    public static let machineFiles = ["ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem", "known_hosts"]
    public static let generatedKeyFile = "id_ed25519"
    /// Carried when the machine has them.
    public static let optionalFiles = [generatedKeyFile, "sudo-password"]
    /// What a client needs, which every machine has.
    static let clientFiles = ["ca.pem", "cert.pem", "key.pem"]

    /// Whether a machine like `config` must have `file` (one of `machineFiles`): all of them,
    /// but a machine without SSH (an adopted endpoint, `none`) has only the client's files.
    static func required(_ file: String, _ config: MachineConfig) -> Bool {
        config.hasSSH || clientFiles.contains(file)
    }

    public struct Machine: Sendable, Equatable {
        public var config: MachineConfig
        /// By file name: the `machineFiles`, and `generatedKeyFile` when there is one.
        public var files: [String: Data]
    }

    public var machines: [Machine]
    /// CA keys by `caID`.
    public var caKeys: [String: Data]

    public init(machines: [Machine], caKeys: [String: Data]) {
        self.machines = machines
        self.caKeys = caKeys
    }

    struct Manifest: Codable {
        var format: String
        var version: Int
        var createdAt: Date
        var machines: [String]
        var files: [String: String]
    }

    // MARK: - Writing

    public func tar(now: Date = Date()) throws -> Data {
        var entries: [Tar.Entry] = []
        var sums: [String: String] = [:]
        func add(_ path: String, _ data: Data) {
            entries.append(.file(path, data))
            sums[path] = Digests.sha256Hex(data)
        }
        for m in machines {
            add("machines/\(m.config.name)/config.json", try Store.encode(m.config))
            for f in Self.machineFiles + Self.optionalFiles {
                if let d = m.files[f] { add("machines/\(m.config.name)/\(f)", d) }
            }
        }
        for (id, key) in caKeys.sorted(by: { $0.key < $1.key }) { add("cas/\(id)/ca-key.pem", key) }
        let manifest = Manifest(
            format: Self.format, version: Self.version, createdAt: now,
            machines: machines.map(\.config.name), files: sums)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try Tar.write([.file("manifest.json", try encoder.encode(manifest))] + entries, mtime: now)
    }

    // MARK: - Reading

    /// Parses and checks an archive (`file` names it in errors). Sealed archives need
    /// `passphrase`; with a passphrase, only a sealed archive is read (the seal is what says the
    /// archive comes from someone who knows the passphrase: a plain one could come from anyone).
    public static func read(_ data: Data, file: String, passphrase: String?) throws -> MachineArchive {
        var plain = data
        if passphrase != nil && !PassphraseSeal.isSealed(data) {
            throw InventoryError.notSealed(file: file)
        }
        if PassphraseSeal.isSealed(data) {
            guard let passphrase else { throw InventoryError.encryptedNeedsPassphrase(file: file) }
            do { plain = try PassphraseSeal.open(data, passphrase: passphrase) } catch let f as PassphraseSeal.Failure {
                throw InventoryError.cannotDecrypt(file: file, reason: f.description)
            }
        }
        let entries: [Tar.Entry]
        do { entries = try Tar.read(plain) } catch let e as Tar.Malformed {
            // A file that does not even start like a tar archive is something else entirely.
            if !Tar.startsLikeAnArchive(plain) {
                throw InventoryError.notAnExport(file: file, reason: "not a tar archive")
            }
            throw InventoryError.damaged(file: file, reason: e.description)
        }
        var byPath: [String: Data] = [:]
        for e in entries where e.kind == .file { byPath[e.path] = e.data }
        guard let manifestData = byPath.removeValue(forKey: "manifest.json") else {
            throw InventoryError.notAnExport(file: file, reason: "no manifest.json")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let manifest = try? decoder.decode(Manifest.self, from: manifestData), manifest.format == Self.format else {
            throw InventoryError.notAnExport(file: file, reason: "manifest.json is not an export manifest")
        }
        guard manifest.version == Self.version else {
            throw InventoryError.notAnExport(
                file: file, reason: "format version \(manifest.version); this swock-machine reads version \(Self.version): upgrade it")
        }
        // Every listed file present and unchanged, and nothing unlisted.
        for (path, sum) in manifest.files.sorted(by: { $0.key < $1.key }) {
            guard let d = byPath[path] else { throw InventoryError.damaged(file: file, reason: "\(path) is missing") }
            guard Digests.sha256Hex(d) == sum else {
                throw InventoryError.damaged(file: file, reason: "\(path) does not match its checksum")
            }
        }
        if let extra = byPath.keys.sorted().first(where: { manifest.files[$0] == nil }) {
            throw InventoryError.damaged(file: file, reason: "\(extra) is not in the manifest")
        }

        var machines: [Machine] = []
        for name in manifest.machines {
            do { try MachineName.validate(name) } catch {
                throw InventoryError.damaged(file: file, reason: "machine name \"\(name)\": \(error)")
            }
            let prefix = "machines/\(name)/"
            guard let configData = byPath[prefix + "config.json"] else {
                throw InventoryError.damaged(file: file, reason: "\(prefix)config.json is missing")
            }
            let config: MachineConfig
            do { config = try Store.decode(configData, name: name, path: prefix + "config.json") } catch {
                throw InventoryError.damaged(file: file, reason: "\(error)")
            }
            guard config.name == name else {
                throw InventoryError.damaged(file: file, reason: "\(prefix)config.json names \"\(config.name)\"")
            }
            var files: [String: Data] = [:]
            for f in Self.machineFiles + Self.optionalFiles {
                if let d = byPath[prefix + f] { files[f] = d }
            }
            for f in clientFiles + ["known_hosts"] where files[f] == nil && required(f, config) {
                throw InventoryError.damaged(file: file, reason: "\(prefix)\(f) is missing")
            }
            if config.ssh.authMode == .generatedKey && files[Self.generatedKeyFile] == nil {
                throw InventoryError.damaged(file: file, reason: "\(prefix)\(Self.generatedKeyFile) is missing")
            }
            machines.append(Machine(config: config, files: files))
        }
        var caKeys: [String: Data] = [:]
        for (path, d) in byPath where path.hasPrefix("cas/") && path.hasSuffix("/ca-key.pem") {
            let id = String(path.dropFirst(4).dropLast(11))
            caKeys[id] = d
        }
        return MachineArchive(machines: machines, caKeys: caKeys)
    }
}
