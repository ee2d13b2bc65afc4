import Foundation
import SwockSupport

/// The common case of reading a record, without Codable: `ls` over a thousand records spent
/// 40% of its time in JSONDecoder (its generic keyed containers, metadata lookups, a second
/// parse for the version), measured with perf on the release build. This reads the JSON into a
/// small tree and builds the `MachineConfig` by hand, field by field, with Codable's meaning:
/// unknown keys ignored, an optional field may be missing or null, enums by raw value, dates as
/// `ISO8601Time`. It gives up (nil) on anything it is not sure of: a record that is not JSON,
/// a missing or mistyped field, a duplicate key, a number that is not plainly an integer where
/// one is wanted, a version other than the ones this build reads, driver options (their
/// `JSONValue` has its own number rules). `Store.decode` then takes the JSONDecoder path, which
/// decides and names what is wrong, so errors and unusual records are exactly as before.
/// `RecordDecoderTests` checks that whatever this returns equals what JSONDecoder returns.
enum RecordDecoder {
    static func decode(_ data: Data) -> MachineConfig? {
        let value: JSON? = data.withUnsafeBytes { raw in
            var p = JSONParser(raw.bindMemory(to: UInt8.self))
            guard let v = p.value(), p.atEnd() else { return nil }
            return v
        }
        guard case .object(let o)? = value else { return nil }
        return machine(Fields(o))
    }

    static func machine(_ f: Fields?) -> MachineConfig? {
        guard let f, let version = f.int("configVersion"), version >= 1, version <= MachineConfig.currentVersion,
            let name = f.string("name"), let driver = f.string("driver"), let address = f.string("address"),
            let ssh = ssh(f.object("ssh")), let engine = engine(f.object("engine")), let tls = tls(f.object("tls")),
            let labels = f.stringMap("labels"), let provisioning = provisioning(f.object("provisioning")),
            let createdAt = f.date("createdAt"), let updatedAt = f.date("updatedAt"),
            let host = f.optional("host", hostFacts), let scripts = f.optional("provisionScripts", { $0.array(provisionScript) }),
            let peer = f.optional("peerAddress", { $0.stringValue })
        else { return nil }
        // Driver options keep JSONDecoder's own reading of numbers: left to it.
        guard f.absentOrNull("driverOptions") else { return nil }
        var c = MachineConfig(
            name: name, driver: driver, address: address, ssh: ssh, engine: engine, tls: tls, labels: labels, now: createdAt)
        c.configVersion = version
        c.peerAddress = peer
        c.host = host
        c.provisioning = provisioning
        c.provisionScripts = scripts
        c.createdAt = createdAt
        c.updatedAt = updatedAt
        return c
    }

    static func ssh(_ f: Fields?) -> SSHSettings? {
        guard let f, let user = f.string("user"), let port = f.int("port"),
            let modeText = f.string("authMode"), let mode = SSHSettings.AuthMode(rawValue: modeText),
            let keyPath = f.optional("keyPath", { $0.stringValue }), let knownHosts = f.string("knownHostsPath"),
            let proxyJump = f.optional("proxyJump", { $0.array(jumpHost) }),
            let identitiesOnly = f.optional("identitiesOnly", { $0.boolValue }),
            let alias = f.optional("sshConfigHost", { $0.stringValue }),
            let expected = f.optional("expectedHostKeys", { $0.array { $0.stringValue } })
        else { return nil }
        var s = SSHSettings(user: user, port: port, authMode: mode, keyPath: keyPath, knownHostsPath: knownHosts)
        s.proxyJump = proxyJump
        s.identitiesOnly = identitiesOnly
        s.sshConfigHost = alias
        s.expectedHostKeys = expected
        return s
    }

    static func jumpHost(_ v: JSON) -> JumpHost? {
        guard let f = Fields(v), let user = f.optional("user", { $0.stringValue }), let host = f.string("host"),
            let port = f.int("port")
        else { return nil }
        return JumpHost(user: user, host: host, port: port)
    }

    static func engine(_ f: Fields?) -> EngineSettings? {
        guard let f, let port = f.int("port"), let options = f.strings("options"), let labels = f.strings("labels"),
            let environment = f.strings("environment"), let storageDriver = f.optional("storageDriver", { $0.stringValue }),
            let mirrors = f.strings("registryMirrors"), let insecure = f.strings("insecureRegistries"),
            let installText = f.string("install"), let install = EngineSettings.InstallMethod(rawValue: installText),
            let installURL = f.optional("installURL", { $0.stringValue }),
            let bundle = f.optional("installBundle", { $0.stringValue }), let forwardPort = f.optional("forwardPort", { $0.intValue }),
            let version = f.optional("version", { $0.stringValue }), let dockerdPath = f.optional("dockerdPath", { $0.stringValue })
        else { return nil }
        var e = EngineSettings(
            port: port, options: options, labels: labels, environment: environment, storageDriver: storageDriver,
            registryMirrors: mirrors, insecureRegistries: insecure, install: install, installURL: installURL)
        e.installBundle = bundle
        e.forwardPort = forwardPort
        e.version = version
        e.dockerdPath = dockerdPath
        return e
    }

    static func tls(_ f: Fields?) -> TLSSettings? {
        guard let f, let keyType = f.string("keyType"), let sans = f.strings("serverSANs"), let extra = f.strings("extraSANs"),
            let hostname = f.optional("hostname", { $0.stringValue }), let notBefore = f.optional("serverNotBefore", { $0.dateValue }),
            let notAfter = f.optional("serverNotAfter", { $0.dateValue }),
            let fingerprint = f.optional("caFingerprint", { $0.stringValue }), let caDir = f.optional("caDir", { $0.stringValue })
        else { return nil }
        var t = TLSSettings(keyType: keyType, serverSANs: sans, extraSANs: extra)
        t.hostname = hostname
        t.serverNotBefore = notBefore
        t.serverNotAfter = notAfter
        t.caFingerprint = fingerprint
        t.caDir = caDir
        return t
    }

    static func hostFacts(_ v: JSON) -> HostFacts? {
        guard let f = Fields(v), let osID = f.string("osID"), let osVersion = f.optional("osVersion", { $0.stringValue }),
            let idLike = f.strings("idLike"), let pretty = f.optional("prettyName", { $0.stringValue }), let family = f.string("family"),
            let hostname = f.optional("hostname", { $0.stringValue }), let initSystem = f.string("initSystem"),
            let arch = f.optional("architecture", { $0.stringValue })
        else { return nil }
        return HostFacts(
            osID: osID, osVersion: osVersion, idLike: idLike, prettyName: pretty, family: family, hostname: hostname,
            initSystem: initSystem, architecture: arch)
    }

    static func provisioning(_ f: Fields?) -> ProvisioningState? {
        guard let f, let phaseText = f.string("phase"), let phase = ProvisioningState.Phase(rawValue: phaseText),
            let steps = f.field("stepsDone")?.array(stepRecord), let lastError = f.optional("lastError", { $0.stringValue }),
            let failedStep = f.optional("failedStep", { $0.stringValue.flatMap(ProvisionStep.init(rawValue:)) }),
            let lastAttempt = f.optional("lastAttemptAt", { $0.dateValue })
        else { return nil }
        var p = ProvisioningState()
        p.phase = phase
        p.stepsDone = steps
        p.lastError = lastError
        p.failedStep = failedStep
        p.lastAttemptAt = lastAttempt
        return p
    }

    static func stepRecord(_ v: JSON) -> StepRecord? {
        guard let f = Fields(v), let stepText = f.string("step"), let step = ProvisionStep(rawValue: stepText),
            let seconds = f.field("seconds")?.doubleValue, let finished = f.date("finishedAt")
        else { return nil }
        return StepRecord(step: step, seconds: seconds, finishedAt: finished)
    }

    static func provisionScript(_ v: JSON) -> ProvisionScript? {
        guard let f = Fields(v), let source = f.string("source"), let file = f.string("file"),
            let lastRun = f.optional("lastRun", scriptRun)
        else { return nil }
        return ProvisionScript(source: source, file: file, lastRun: lastRun)
    }

    static func scriptRun(_ v: JSON) -> ScriptRun? {
        guard let f = Fields(v),
            let status = f.optional("exitStatus", { $0.intValue.flatMap { Int32(exactly: $0) } }),
            let error = f.optional("error", { $0.stringValue }), let seconds = f.field("seconds")?.doubleValue,
            let finished = f.date("finishedAt"), let lines = f.strings("lastLines")
        else { return nil }
        return ScriptRun(exitStatus: status, error: error, seconds: seconds, finishedAt: finished, lastLines: lines)
    }
}

extension RecordDecoder {
    /// A JSON value; numbers kept as their text until a field says what it wants.
    indirect enum JSON {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array([JSON])
        case object([(String, JSON)])

        var stringValue: String? { if case .string(let s) = self { s } else { nil } }
        var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
        var dateValue: Date? { stringValue.flatMap(ISO8601Time.parse) }

        /// Only `-?DIGITS`: what is surely an integer to JSONDecoder too.
        var intValue: Int? {
            guard case .number(let text) = self else { return nil }
            let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(text)
        }

        var doubleValue: Double? {
            guard case .number(let text) = self, let d = Double(text), d.isFinite else { return nil }
            return d
        }

        func array<T>(_ element: (JSON) -> T?) -> [T]? {
            guard case .array(let items) = self else { return nil }
            var out: [T] = []
            out.reserveCapacity(items.count)
            for item in items {
                guard let e = element(item) else { return nil }
                out.append(e)
            }
            return out
        }
    }

    /// An object's members by key (nil for an object with a key twice).
    struct Fields {
        let members: [String: JSON]

        init?(_ pairs: [(String, JSON)]) {
            var m: [String: JSON] = [:]
            m.reserveCapacity(pairs.count)
            for (k, v) in pairs {
                guard m.updateValue(v, forKey: k) == nil else { return nil }
            }
            members = m
        }

        init?(_ value: JSON) {
            guard case .object(let pairs) = value else { return nil }
            self.init(pairs)
        }

        func field(_ key: String) -> JSON? { members[key] }
        func string(_ key: String) -> String? { members[key]?.stringValue }
        func int(_ key: String) -> Int? { members[key]?.intValue }
        func date(_ key: String) -> Date? { members[key]?.dateValue }
        func strings(_ key: String) -> [String]? { members[key]?.array { $0.stringValue } }
        func object(_ key: String) -> Fields? { members[key].flatMap(Fields.init) }

        func stringMap(_ key: String) -> [String: String]? {
            guard case .object(let pairs)? = members[key] else { return nil }
            var out: [String: String] = [:]
            for (k, v) in pairs {
                guard let s = v.stringValue, out.updateValue(s, forKey: k) == nil else { return nil }
            }
            return out
        }

        func absentOrNull(_ key: String) -> Bool {
            guard let v = members[key] else { return true }
            if case .null = v { return true }
            return false
        }

        /// An optional field: `.some(nil)` when missing or null, `.some(value)` when it reads,
        /// nil (give up) when it is there and does not.
        func optional<T>(_ key: String, _ read: (JSON) -> T?) -> T?? {
            guard let v = members[key] else { return .some(nil) }
            if case .null = v { return .some(nil) }
            guard let t = read(v) else { return nil }
            return .some(t)
        }

        func optional<T>(_ key: String, _ read: (Fields) -> T?) -> T?? {
            optional(key) { (v: JSON) in Fields(v).flatMap(read) }
        }
    }

    /// RFC 8259 JSON, strictly (anything else: nil).
    struct JSONParser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0
        var depth = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0a, 0x0d: i += 1
                default: return
                }
            }
        }

        mutating func atEnd() -> Bool {
            skipSpace()
            return i == bytes.count
        }

        mutating func literal(_ word: StaticString, _ value: JSON) -> JSON? {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { return nil }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return nil }
            i += n
            return value
        }

        mutating func value() -> JSON? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string().map(JSON.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func object() -> JSON? {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { return nil }
            i += 1
            var pairs: [(String, JSON)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(pairs)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let v = value() else { return nil }
                pairs.append((key, v))
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                return nil
            }
        }

        mutating func array() -> JSON? {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { return nil }
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                guard let v = value() else { return nil }
                items.append(v)
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                return nil
            }
        }

        /// A string at `i` (its opening quote); escapes decoded, UTF-8 checked.
        mutating func string() -> String? {
            i += 1
            let start = i
            // The plain case: no escapes.
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    let s = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                    i += 1
                    return s
                }
                if b == UInt8(ascii: "\\") { break }
                if b < 0x20 { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            var out = Array(bytes[start..<i])
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    return String(validating: out, as: UTF8.self)
                }
                if b < 0x20 { return nil }
                guard b == UInt8(ascii: "\\") else {
                    out.append(b)
                    i += 1
                    continue
                }
                i += 1
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var unit = hex4() else { return nil }
                    if (0xd800..<0xdc00).contains(unit) {
                        // A high surrogate: its low half must follow.
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { return nil }
                        i += 2
                        guard let low = hex4(), (0xdc00..<0xe000).contains(low) else { return nil }
                        unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    } else if (0xdc00..<0xe000).contains(unit) {
                        return nil
                    }
                    guard let scalar = Unicode.Scalar(unit) else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let d: UInt8
                switch b {
                case 0x30...0x39: d = b - 0x30
                case 0x61...0x66: d = b - 0x61 + 10
                case 0x41...0x46: d = b - 0x41 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text.
        mutating func number() -> JSON? {
            let start = i
            func digits(_ p: inout JSONParser) -> Int {
                let s = p.i
                while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
                return p.i - s
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
            } else {
                guard digits(&self) > 0 else { return nil }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits(&self) > 0 else { return nil }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { return nil }
            }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
        }
    }
}
