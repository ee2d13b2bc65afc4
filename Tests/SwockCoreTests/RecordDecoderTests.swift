import Foundation
import Testing

@testable import SwockStore

/// The hand-written record reader (`RecordDecoder`) never disagrees with JSONDecoder: whatever
/// it returns is what JSONDecoder returns, and whatever JSONDecoder refuses it leaves alone.
@Suite struct RecordDecoderTests {
    /// Records as this and earlier versions wrote them.
    static func records() throws -> [Data] {
        var full = sampleConfig("full")
        full.ssh.proxyJump = [JumpHost(user: "ops", host: "10.231.0.2", port: 2200), JumpHost(host: "bastion.example")]
        full.ssh.identitiesOnly = false
        full.ssh.sshConfigHost = "web"
        full.ssh.expectedHostKeys = ["SHA256:PboQ4kp5XDJHSsAx1drGmjTIIksM+ouViQnx4KAKcis", "SHA256:x"]
        full.peerAddress = "10.231.250.7"
        full.engine.forwardPort = 40001
        full.engine.installBundle = "/srv/debs"
        full.tls.hostname = "web1"
        full.tls.caDir = "cas/abc"
        full.provisioning.lastError = "install-engine: apt failed"
        full.provisioning.failedStep = .installEngine
        full.provisioning.lastAttemptAt = Date(timeIntervalSince1970: 1_700_000_100)
        full.labels = ["team": "core", "ünï": "ça \"va\"\n\t\\ /", "emoji": "🐳"]
        full.provisionScripts = [
            ProvisionScript(source: "/tmp/a.sh", file: "machines/full/provision-script-0"),
            ProvisionScript(
                source: "b.sh", file: "machines/full/provision-script-1",
                lastRun: ScriptRun(
                    exitStatus: 3, error: nil, seconds: 0.084838862, finishedAt: Date(timeIntervalSince1970: 1_700_000_200),
                    lastLines: ["a", "b\u{1}"])),
            ProvisionScript(
                source: "c.sh", file: "machines/full/provision-script-2",
                lastRun: ScriptRun(
                    exitStatus: nil, error: "timed out", seconds: 120, finishedAt: Date(timeIntervalSince1970: 1_700_000_300), lastLines: []
                )
            ),
        ]
        var bare = MachineConfig(
            name: "bare", address: "::1",
            ssh: SSHSettings(
                user: "root", port: 22, authMode: .agentOrDefaultKeys, keyPath: nil, knownHostsPath: "machines/bare/known_hosts"),
            engine: EngineSettings(install: .none), tls: TLSSettings(keyType: "rsa-2048"), now: Date(timeIntervalSince1970: 0))
        bare.updatedAt = Date(timeIntervalSince1970: 4_102_444_800)
        // Python's json.dump, as scripts/bench writes copies: non-ASCII as \u escapes, ", " and ": ".
        let python = Data(
            #"{"configVersion": 1, "name": "py\u00e9\ud83d\udc33", "driver": "generic", "address": "10.231.1.21", "ssh": {"user": "tester", "port": 22, "authMode": "key", "keyPath": "\/var\/lib\/k", "knownHostsPath": "machines/py/known_hosts"}, "engine": {"port": 2376, "options": [], "labels": [], "environment": [], "registryMirrors": [], "insecureRegistries": [], "install": "auto", "version": null}, "tls": {"keyType": "ecdsa-p256", "serverSANs": ["10.231.1.21"], "extraSANs": [], "serverNotAfter": "2029-12-05T18:36:24Z"}, "labels": {}, "host": null, "provisioning": {"phase": "ready", "stepsDone": [{"step": "connect", "seconds": 1e-3, "finishedAt": "2026-12-06T18:36:24Z"}, {"step": "wait-engine", "seconds": 12, "finishedAt": "2026-12-06T18:36:25Z"}]}, "createdAt": "2026-12-06T18:36:24Z", "updatedAt": "2026-12-06T18:36:24Z", "somethingNew": {"a": [1, 2.5, true, null]}}"#
                .utf8)
        return [
            try Store.encode(full), try Store.encode(bare), try Store.encode(sampleConfig("s")), python,
            Data(ProvisionStepRecordTests.oldConfig.utf8), Data(DriverRecordTests.oldRecord.utf8),
        ]
    }

    /// What JSONDecoder makes of `data` (nil: it refuses it).
    static func codable(_ data: Data) -> MachineConfig? { try? Store.decodeCodable(data, name: "x", path: "x") }

    @Test func readsEveryRecordAsJSONDecoderDoes() throws {
        for data in try Self.records() {
            let fast = RecordDecoder.decode(data)
            #expect(fast != nil, "not read: \(String(decoding: data, as: UTF8.self).prefix(80))")
            #expect(fast == Self.codable(data))
            #expect(try Store.decode(data, name: "x", path: "x") == Self.codable(data))
        }
    }

    /// Every field of every record removed, nulled, or given a value of each other JSON type:
    /// the reader returns what JSONDecoder returns, or leaves the record to it.
    @Test func neverDisagreesWithJSONDecoder() throws {
        let replacements: [Any?] = [
            nil, NSNull(), 5, -1, 2376.0, 1.5, 1e300, "x", "2026-12-06T18:36:24Z", true, [Any](), ["x"], [String: Any](),
        ]
        var checked = 0, taken = 0
        func check(_ data: Data) {
            checked += 1
            guard let fast = RecordDecoder.decode(data) else { return }
            taken += 1
            #expect(fast == Self.codable(data), "\(String(decoding: data, as: UTF8.self))")
        }
        func mutate(_ value: Any, _ body: (Any) -> Void) {
            body(value)
            if let o = value as? [String: Any] {
                for key in o.keys {
                    for r in replacements {
                        var m = o
                        m[key] = r
                        body(m)
                    }
                    mutate(o[key]!) { inner in
                        var m = o
                        m[key] = inner
                        body(m)
                    }
                }
            } else if let a = value as? [Any], !a.isEmpty {
                for r in replacements.compactMap({ $0 }) {
                    var m = a
                    m[0] = r
                    body(m)
                }
                mutate(a[0]) { inner in
                    var m = a
                    m[0] = inner
                    body(m)
                }
            }
        }
        for data in try Self.records() {
            let object = try JSONSerialization.jsonObject(with: data)
            mutate(object) { m in
                if let d = try? JSONSerialization.data(withJSONObject: m) { check(d) }
            }
        }
        // Texts JSONSerialization does not write.
        let base = String(decoding: try Store.encode(sampleConfig("t")), as: UTF8.self)
        for text in [
            base.replacingOccurrences(of: "\"port\" : 2376", with: "\"port\" : 2376.0"),
            base.replacingOccurrences(of: "\"port\" : 2376", with: "\"port\" : 2.376e3"),
            base.replacingOccurrences(of: "\"port\" : 2376", with: "\"port\" : 02376"),
            base.replacingOccurrences(of: "\"port\" : 2376", with: "\"port\" : 2376, \"port\" : 2377"),
            base.replacingOccurrences(of: "\"name\" : \"t\"", with: "\"name\" : \"t\\ud83d\""),
            base.replacingOccurrences(of: "\"name\" : \"t\"", with: "\"name\" : \"t\\x\""),
            base.replacingOccurrences(of: "\"name\" : \"t\"", with: "\"name\" : \"t\u{1}\""),
            base.replacingOccurrences(of: "\"configVersion\" : 1", with: "\"configVersion\" : 2"),
            base + "x", base + "{}", "[" + base + "]", "\u{feff}" + base, base.replacingOccurrences(of: "}", with: "},"),
            String(base.dropLast(3)), "  \n" + base + "\n\n ",
        ] {
            check(Data(text.utf8))
        }
        let utf16 = base.data(using: .utf16)!
        check(utf16)
        #expect(RecordDecoder.decode(utf16) == nil)
        #expect(checked > 2000 && taken > 100, "\(checked) checked, \(taken) read")
    }
}
