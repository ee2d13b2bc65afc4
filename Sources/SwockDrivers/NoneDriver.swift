import EngineAPI
import Foundation
import SwockStore
import SwockSupport

/// `none`: adopts a Docker endpoint someone already runs (Docker Machine's none driver). No SSH:
/// nothing is installed or configured; the client certificate and CA given are copied into the
/// machine's directory, and the endpoint must answer over mutual TLS with them before anything
/// is written.
public struct NoneDriver: MachineDriver {
    public struct Settings: Codable, Sendable, Equatable {
        /// `tcp://HOST:PORT`, as given.
        public var url: String
    }

    public let settings: Settings
    /// At create: the TLS files given.
    public let tls: DriverTLSFiles?
    /// How long the check at create waits for the endpoint.
    public var timeout: Duration = .seconds(10)

    public init(settings: Settings, tls: DriverTLSFiles?) {
        self.settings = settings
        self.tls = tls
    }

    public var name: String { "none" }
    /// The flags that give the three TLS files, which go together.
    public static let tlsFlags = "--tls-ca-cert, --tls-client-cert and --tls-client-key"
    public var hostOwnership: HostOwnership { .external }

    /// The URL's host and port (`tcp://HOST:PORT`, an IPv6 host in brackets; no port: 2376).
    public static func parseURL(_ url: String) throws(DriverError) -> (host: String, port: Int) {
        func bad(_ why: String) -> DriverError { .invalidFlag(driver: "none", flag: "--url", value: url, why: why) }
        guard url.hasPrefix("tcp://") else { throw bad("only tcp://HOST:PORT is supported (a Docker daemon listening on TCP with TLS)") }
        var rest = Substring(url.dropFirst("tcp://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("an IPv6 address needs its closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("expected :PORT after the address") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard NameCharacters.host.accepts(host) else {
            throw bad("expected tcp://HOST:PORT with an IP address or host name")
        }
        var port = EngineEndpoint.defaultPort
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("the port must be a number 1-65535") }
            port = p
        }
        return (String(host), port)
    }

    /// The URL is tcp://, the three files are readable, and the daemon answers `/version` over
    /// mutual TLS with them, its certificate verified for the URL's host.
    public func preCreateCheck() async throws {
        let (host, port) = try Self.parseURL(settings.url)
        guard let tls else {
            throw DriverError.missingFlag(
                driver: name, flag: Self.tlsFlags,
                why:
                    "swock-machine talks to a daemon only over mutual TLS; give the CA that signed its certificate and a client certificate and key it trusts"
            )
        }
        for (flag, path) in [("--tls-ca-cert", tls.caCert), ("--tls-client-cert", tls.clientCert), ("--tls-client-key", tls.clientKey)] {
            let fm = FileManager.default
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                throw DriverError.unreadableFile(driver: name, flag: flag, path: path, detail: "no such file")
            }
            guard !isDir.boolValue, fm.contents(atPath: path) != nil else {
                throw DriverError.unreadableFile(
                    driver: name, flag: flag, path: path, detail: isDir.boolValue ? "a directory" : "cannot read it")
            }
        }
        let endpoint = EngineEndpoint(
            host: host, port: port, tls: TLSFiles(caPath: tls.caCert, certPath: tls.clientCert, keyPath: tls.clientKey))
        do {
            _ = try await EngineClient(endpoint: endpoint, timeout: timeout).version()
        } catch {
            throw DriverError.endpointRefused(driver: name, url: settings.url, detail: Self.why(error, host: host))
        }
    }

    /// What the daemon's answer means here (the EngineAPI texts name a machine's own remedies).
    static func why(_ e: EngineError, host: String) -> String {
        switch e {
        case .connectionRefused: return "connection refused: no daemon listens there"
        case .unreachable(_, let d), .dnsFailure(_, let d): return "unreachable (\(d))"
        case .timedOut(_, let after, let during): return "no answer within \(Int(after.timeInterval)) s (\(during))"
        case .unknownCA(_, let issuer):
            return "the daemon's certificate is not signed by --tls-ca-cert\(issuer.isEmpty ? "" : " (it was issued by \(issuer))")"
        case .nameMismatch(_, let covered): return "the daemon's certificate does not cover \(host) (it covers \(covered))"
        case .certificateExpired(_, let date, _): return "the daemon's certificate (or its CA) expired on \(date)"
        case .certificateNotYetValid(_, let date, _): return "the daemon's certificate is not valid before \(date)"
        case .certificateInvalid(_, let d): return "the daemon's certificate does not verify (\(d))"
        case .clientCertificateRejected(_, let d):
            return "the daemon refused --tls-client-cert (\(d)); give a client certificate signed by the CA the daemon trusts"
        case .localFile(_, let d): return "the certificate files cannot be used (\(d))"
        default: return "\(e)"
        }
    }

    public func create() async throws -> CreatedHost {
        let (host, port) = try Self.parseURL(settings.url)
        return CreatedHost(address: host, ssh: nil, engineHostPort: port, options: options(), dockerTLS: tls)
    }
    /// Nothing was made: nothing to remove.
    public func remove() async throws {}
    public func start() async throws { throw DriverError.notOwned(driver: name, operation: "start") }
    public func stop() async throws { throw DriverError.notOwned(driver: name, operation: "stop") }
    public func restart() async throws { throw DriverError.notOwned(driver: name, operation: "restart") }
    public func kill() async throws { throw DriverError.notOwned(driver: name, operation: "kill") }
    /// Unknown without asking the endpoint: the caller asks the engine.
    public func state() async throws -> DriverState { .none }
    public func sshAccess() async throws -> DriverSSHAccess? { nil }
    public func dockerURL() async throws -> String? { settings.url }
    public func options() -> DriverOptions { (try? DriverOptions(encoding: settings)) ?? DriverOptions() }
}

public struct NoneKind: DriverKind {
    public init() {}
    public var name: String { "none" }
    public var summary: String { "adopts a Docker endpoint you already have (tcp:// with mutual TLS); no SSH" }

    public static let flags: [DriverFlag] = [
        DriverFlag(name: "url", usage: "the daemon's URL, tcp://HOST:PORT (required)", envVar: "NONE_URL", kind: .string),
        DriverFlag(name: "tls-ca-cert", usage: "the CA certificate that signed the daemon's certificate (PEM)", kind: .string),
        DriverFlag(name: "tls-client-cert", usage: "a client certificate the daemon trusts (PEM)", kind: .string),
        DriverFlag(name: "tls-client-key", usage: "the client certificate's key (PEM)", kind: .string),
    ]

    public func createFlags() async throws -> [DriverFlag] { Self.flags }

    public func driverForCreate(machine: String, flags: DriverFlagValues, store: Store) async throws -> any MachineDriver {
        guard let url = flags.string("url"), !url.isEmpty else {
            throw DriverError.missingFlag(driver: name, flag: "--url", why: "the daemon's URL, tcp://HOST:PORT")
        }
        _ = try NoneDriver.parseURL(url)
        let given = ["tls-ca-cert", "tls-client-cert", "tls-client-key"].map { flags.string($0) }
        var tls: DriverTLSFiles?
        if given.allSatisfy({ $0 != nil }) {
            func abs(_ p: String) -> String {
                let e = (p as NSString).expandingTildeInPath
                return e.hasPrefix("/") ? e : FileManager.default.currentDirectoryPath + "/" + e
            }
            tls = DriverTLSFiles(caCert: abs(given[0]!), clientCert: abs(given[1]!), clientKey: abs(given[2]!))
        } else if given.contains(where: { $0 != nil }) {
            let missing = zip(["--tls-ca-cert", "--tls-client-cert", "--tls-client-key"], given).filter { $0.1 == nil }.map(\.0)
            throw DriverError.missingFlag(driver: name, flag: missing.joined(separator: " and "), why: "the three TLS files go together")
        }
        return NoneDriver(settings: .init(url: url), tls: tls)
    }

    public func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver {
        let settings: NoneDriver.Settings
        if let o = config.driverOptions, let s = try? o.decode(NoneDriver.Settings.self) {
            settings = s
        } else {
            settings = .init(url: config.engineURL)
        }
        return NoneDriver(settings: settings, tls: nil)
    }
}

extension DriverTLSFiles {
    /// The three files' contents under the names they get in a machine's directory (ca.pem,
    /// cert.pem, key.pem). A file that cannot be read is named by the none driver's flag that
    /// gave it (`--tls-ca-cert` ...), the only driver whose host comes with these files.
    public func contents(driver: String) throws(DriverError) -> [String: Data] {
        var files: [String: Data] = [:]
        for (flag, path, name) in [
            ("--tls-ca-cert", caCert, "ca.pem"), ("--tls-client-cert", clientCert, "cert.pem"), ("--tls-client-key", clientKey, "key.pem"),
        ] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DriverError.unreadableFile(driver: driver, flag: flag, path: path, detail: "cannot read it")
            }
            files[name] = data
        }
        return files
    }
}
