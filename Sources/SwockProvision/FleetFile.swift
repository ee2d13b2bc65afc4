import Foundation
import SSHKit
import SwockPKI
import SwockStore
import Yams

/// A fleet file for `create -f`: YAML or JSON, one entry per machine, with optional defaults.
///
///     defaults:
///       user: tester
///       key: ~/.ssh/id_ed25519
///       labels: {env: prod}
///       engine: {port: 2376, opts: [log-level=warn], install: auto}
///     machines:
///       - {name: web1, address: 10.231.1.10, labels: {role: web}}
///       - {name: db1, address: 10.231.1.11, user: root, hostname: db1, ssh-host-key-fingerprints: ["SHA256:..."]}
///       - {name: app1, address: 10.231.201.5, proxy-jump: "tester@10.231.1.10", sudo-password-env: APP_SUDO_PASSWORD}
///       - {name: ci1, address: 10.231.1.12, provision-scripts: [setup.sh, users.sh]}
///       - {name: ext1, driver: none, driver-options: {url: "tcp://10.231.1.12:2376", tls-ca-cert: ca.pem, tls-client-cert: cert.pem, tls-client-key: key.pem}}
///
/// `driver:` (default generic) names the driver; `driver-options:` holds its flags as
/// `create -d NAME` takes them, without the dashes (a list for a repeatable flag).
public struct FleetFile: Decodable, Sendable, Equatable {
    public struct Engine: Decodable, Sendable, Equatable {
        public var port: Int?
        public var opts: [String]?
        public var labels: [String]?
        public var env: [String]?
        public var storageDriver: String?
        public var registryMirrors: [String]?
        public var insecureRegistries: [String]?
        public var install: String?
        public var installURL: String?

        enum CodingKeys: String, CodingKey {
            case port, opts, labels, env
            case storageDriver = "storage-driver"
            case registryMirrors = "registry-mirrors"
            case insecureRegistries = "insecure-registries"
            case install
            case installURL = "install-url"
        }
    }

    public struct Entry: Decodable, Sendable, Equatable {
        public var name: String?
        public var address: String?
        public var user: String?
        public var port: Int?
        public var key: String?
        public var labels: [String: String]?
        public var hostname: String?
        public var tlsSAN: [String]?
        public var tlsKeyType: String?
        public var engine: Engine?
        /// Bastions, as `--generic-ssh-proxy-jump`: `[user@]host[:port][,...]`.
        public var proxyJump: String?
        /// The environment variable holding sudo's password (never the password itself in a file);
        /// only a name `isAllowedSecretVariable` accepts.
        public var sudoPasswordEnv: String?
        /// As `--ssh-host-key`, `--ssh-host-key-fingerprint` (a list) and `--ssh-known-hosts`.
        public var sshHostKey: String?
        public var sshHostKeyFingerprints: [String]?
        public var sshKnownHosts: String?
        /// `swarm: {init: true}` or `swarm: {manager: NAME, role: worker|manager}`: applied
        /// after the machines are created (see `SwarmPlan`).
        public var swarm: Swarm?
        /// `create -d`'s driver (default generic) and its flags, by name without the dashes.
        public var driver: String?
        public var driverOptions: [String: OptionValue]?
        /// As `--provision-script` (a list, run in order): the entry's own, else the defaults'.
        public var provisionScripts: [String]?

        enum CodingKeys: String, CodingKey {
            case name, address, user, port, key, labels, hostname, engine, swarm, driver
            case driverOptions = "driver-options"
            case provisionScripts = "provision-scripts"
            case proxyJump = "proxy-jump"
            case sudoPasswordEnv = "sudo-password-env"
            case tlsSAN = "tls-san"
            case tlsKeyType = "tls-key-type"
            case sshHostKey = "ssh-host-key"
            case sshHostKeyFingerprints = "ssh-host-key-fingerprints"
            case sshKnownHosts = "ssh-known-hosts"
        }
    }

    /// A driver option's value: text, a number, true/false, or a list (a repeatable flag).
    public enum OptionValue: Decodable, Sendable, Equatable {
        case scalar(String)
        case list([String])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                self = .scalar(s)
            } else if let a = try? c.decode([String].self) {
                self = .list(a)
            } else {
                throw DecodingError.typeMismatch(
                    String.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a value or a list of values"))
            }
        }
    }

    public struct Swarm: Codable, Sendable, Equatable {
        public var `init`: Bool?
        public var manager: String?
        public var role: String?
        public init(`init`: Bool? = nil, manager: String? = nil, role: String? = nil) {
            self.`init` = `init`
            self.manager = manager
            self.role = role
        }
    }

    public var defaults: Entry?
    public var machines: [Entry]

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Parses YAML (JSON is YAML too) and checks every entry; errors name the file and entry.
    public static func load(path: String) throws -> FleetFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "fleet file \(path): cannot read it")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    public static func parse(_ text: String, source: String) throws -> FleetFile {
        let file: FleetFile
        do {
            file = try YAMLDecoder().decode(FleetFile.self, from: text)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw Invalid(description: "fleet file \(source): \(Self.path(ctx.codingPath + [key])) is missing")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            throw Invalid(description: "fleet file \(source): \(Self.path(ctx.codingPath)) has the wrong type")
        } catch let DecodingError.dataCorrupted(ctx) where !ctx.codingPath.isEmpty {
            throw Invalid(description: "fleet file \(source): \(Self.path(ctx.codingPath)): \(ctx.debugDescription)")
        } catch {
            let detail =
                (error as? DecodingError).flatMap { e -> String? in
                    if case .dataCorrupted(let ctx) = e { return (ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription) }
                    return nil
                } ?? "\(error)"
            throw Invalid(description: "fleet file \(source): not valid YAML or JSON (\(detail.split(separator: "\n").first ?? ""))")
        }
        guard !file.machines.isEmpty else { throw Invalid(description: "fleet file \(source): no machines listed") }
        for (who, entry) in [("defaults", file.defaults)] + file.machines.map({ ("machine \"\($0.name ?? "")\"", Optional($0)) }) {
            if let variable = entry?.sudoPasswordEnv, !isAllowedSecretVariable(variable) {
                throw Invalid(
                    description: "fleet file \(source): \(who): sudo-password-env \(variable) is not allowed: \(secretVariableRule)")
            }
        }
        var seen = Set<String>()
        for (i, m) in file.machines.enumerated() {
            guard let name = m.name, !name.isEmpty else { throw Invalid(description: "fleet file \(source): machines[\(i)] has no name") }
            do { try MachineName.validate(name) } catch { throw Invalid(description: "fleet file \(source): machines[\(i)]: \(error)") }
            guard seen.insert(name).inserted else {
                throw Invalid(description: "fleet file \(source): machine \"\(name)\" is listed twice")
            }
            guard (m.driver ?? file.defaults?.driver ?? "generic") != "generic" || m.address ?? file.defaults?.address != nil else {
                throw Invalid(description: "fleet file \(source): machine \"\(name)\" has no address")
            }
        }
        for m in file.machines {
            guard let sw = m.swarm else { continue }
            guard let name = m.name else { continue }  // checked above: every entry has one
            if sw.`init` == true && sw.manager != nil {
                throw Invalid(
                    description: "fleet file \(source): machine \"\(name)\": swarm takes either init: true or manager: NAME, not both")
            }
            if let role = sw.role, role != "worker" && role != "manager" {
                throw Invalid(description: "fleet file \(source): machine \"\(name)\": swarm.role \"\(role)\": expected worker or manager")
            }
            if let mgr = sw.manager, let entry = file.machines.first(where: { $0.name == mgr }), entry.swarm?.`init` != true {
                throw Invalid(
                    description:
                        "fleet file \(source): machine \"\(name)\": swarm.manager \"\(mgr)\" is in this file but has no swarm: {init: true}"
                )
            }
        }
        return file
    }

    /// A fleet file is often shared, and the value of the variable `sudo-password-env` names is
    /// sent to the host: so it may only name a variable meant for this, never any other secret
    /// of the environment (a cloud key, a token).
    public static func isAllowedSecretVariable(_ name: String) -> Bool {
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }) else {
            return false
        }
        return (name.hasPrefix("SWOCK_") && name.count > "SWOCK_".count)
            || (name.hasSuffix("_SUDO_PASSWORD") && name.count > "_SUDO_PASSWORD".count)
    }

    public static let secretVariableRule =
        "a fleet file may only name variables that start with SWOCK_ or end in _SUDO_PASSWORD (letters, digits, _), so it cannot send another secret of your environment to a host; export the password under such a name"

    static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    /// One create request per machine, defaults applied (entry values win; labels are merged).
    /// `environment` holds the variables `sudo-password-env` names.
    public func requests(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [CreateRequest] {
        let d = defaults ?? Entry()
        return try machines.map { m in
            // `parse` checked both; a FleetFile built another way gets the same one-line answers.
            guard let name = m.name, !name.isEmpty else { throw Invalid(description: "fleet file: a machine has no name") }
            let driver = m.driver ?? d.driver ?? "generic"
            guard let address = m.address ?? d.address ?? (driver == "generic" ? nil : "") else {
                throw Invalid(description: "fleet file: machine \"\(name)\" has no address")
            }
            var r = CreateRequest(name: name, address: address)
            r.driver = driver
            if driver != "generic" {
                // As `create -d NAME` takes them; the driver's parser checks names and values.
                let options = (d.driver == driver ? d.driverOptions ?? [:] : [:]).merging(m.driverOptions ?? [:]) { _, new in new }
                r.driverFlagWords = options.keys.sorted().flatMap { k -> [String] in
                    switch options[k]! {
                    case .scalar(let v): return ["--\(k)=\(v)"]
                    case .list(let vs): return vs.map { "--\(k)=\($0)" }
                    }
                }
            } else if m.driverOptions != nil {
                throw Invalid(
                    description:
                        "machine \"\(name)\": driver-options are for a driver other than generic (generic takes address, user, port, key)")
            }
            r.sshUser = m.user ?? d.user ?? "root"
            r.sshPort = m.port ?? d.port ?? 22
            r.sshKeyPath = (m.key ?? d.key).map { ($0 as NSString).expandingTildeInPath }
            r.labels = (d.labels ?? [:]).merging(m.labels ?? [:]) { _, new in new }
            r.hostname = m.hostname
            if let jumps = m.proxyJump ?? d.proxyJump {
                do { r.proxyJump = try JumpHost.parseList(jumps) } catch {
                    throw Invalid(description: "machine \"\(r.name)\": proxy-jump: \(error)")
                }
            }
            if let variable = m.sudoPasswordEnv ?? d.sudoPasswordEnv {
                guard Self.isAllowedSecretVariable(variable) else {
                    throw Invalid(
                        description: "machine \"\(r.name)\": sudo-password-env \(variable) is not allowed: \(Self.secretVariableRule)")
                }
                guard let pw = environment[variable], !pw.isEmpty else {
                    throw Invalid(
                        description:
                            "machine \"\(r.name)\": sudo-password-env \(variable) is not set (or empty); export it before create -f")
                }
                r.sudoPassword = pw
            }
            if let policy = m.sshHostKey ?? d.sshHostKey {
                guard let p = HostKeyPolicy(rawValue: policy) else {
                    throw Invalid(description: "machine \"\(r.name)\": ssh-host-key \"\(policy)\": expected strict or accept-new")
                }
                r.hostKeyPolicy = p
            }
            r.hostKeyFingerprints = m.sshHostKeyFingerprints ?? d.sshHostKeyFingerprints ?? []
            do {
                r.provisionScripts = try (m.provisionScripts ?? d.provisionScripts ?? []).map {
                    try ProvisionScriptSource.read($0, flag: "provision-scripts")
                }
            } catch { throw Invalid(description: "machine \"\(r.name)\": \(error)") }
            r.knownHostsFile = (m.sshKnownHosts ?? d.sshKnownHosts).map { ($0 as NSString).expandingTildeInPath }
            r.extraSANs = (d.tlsSAN ?? []) + (m.tlsSAN ?? [])
            if let kt = m.tlsKeyType ?? d.tlsKeyType { r.keyType = try KeyType(cliName: kt) }
            let e = m.engine ?? d.engine ?? Engine()
            let de = d.engine ?? Engine()
            var installName = e.install ?? de.install ?? "auto"
            var bundle: String?
            if installName.hasPrefix("bundle:"), installName.count > "bundle:".count {
                let path = (String(installName.dropFirst("bundle:".count)) as NSString).expandingTildeInPath
                bundle = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
                installName = "auto"
            }
            guard let install = EngineSettings.InstallMethod(rawValue: installName) else {
                throw Invalid(description: "machine \"\(r.name)\": engine.install \"\(installName)\": expected auto, none or bundle:PATH")
            }
            r.engine = EngineSettings(
                port: e.port ?? de.port ?? 2376, options: e.opts ?? de.opts ?? [],
                labels: e.labels ?? de.labels ?? [], environment: e.env ?? de.env ?? [],
                storageDriver: e.storageDriver ?? de.storageDriver,
                registryMirrors: e.registryMirrors ?? de.registryMirrors ?? [],
                insecureRegistries: e.insecureRegistries ?? de.insecureRegistries ?? [],
                install: install, installURL: e.installURL ?? de.installURL)
            r.engine.installBundle = bundle
            if bundle != nil && r.engine.installURL != nil {
                throw Invalid(description: "machine \"\(r.name)\": give either engine.install bundle:PATH or engine.install-url, not both")
            }
            return r
        }
    }
}
