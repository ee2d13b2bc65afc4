import Foundation
import Testing

@testable import SwockStore

/// Finished steps are persisted by `ProvisionStep`'s raw values: a config.json written before the
/// steps were an enum loads unchanged, and is written back with the same strings.
@Suite struct ProvisionStepRecordTests {
    /// A config.json written by create before `ProvisionStep` existed (a fleet host, Debian 12),
    /// with the two steps only some creates record (install-ssh-key, set-hostname) added.
    static let oldConfig = #"""
        {
          "address" : "10.231.1.14",
          "configVersion" : 1,
          "createdAt" : "2026-12-06T18:36:24Z",
          "driver" : "generic",
          "engine" : {
            "dockerdPath" : "/usr/sbin/dockerd",
            "environment" : [

            ],
            "insecureRegistries" : [

            ],
            "install" : "auto",
            "labels" : [

            ],
            "options" : [

            ],
            "port" : 2376,
            "registryMirrors" : [

            ],
            "version" : "20.10.24+dfsg1"
          },
          "host" : {
            "architecture" : "x86_64",
            "family" : "debian",
            "hostname" : "scp1",
            "idLike" : [

            ],
            "initSystem" : "systemd",
            "osID" : "debian",
            "osVersion" : "12",
            "prettyName" : "Debian GNU/Linux 12 (bookworm)"
          },
          "labels" : {

          },
          "name" : "old1",
          "provisioning" : {
            "lastAttemptAt" : "2026-12-06T18:36:24Z",
            "phase" : "ready",
            "stepsDone" : [
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.084838862,
                "step" : "connect"
              },
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.169647918,
                "step" : "detect-os"
              },
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.062910716,
                "step" : "check-root"
              },
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.25,
                "step" : "install-ssh-key"
              },
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.05,
                "step" : "set-hostname"
              },
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.064816247,
                "step" : "install-engine"
              },
              {
                "finishedAt" : "2026-12-06T18:36:24Z",
                "seconds" : 0.077451621,
                "step" : "install-certs"
              },
              {
                "finishedAt" : "2026-12-06T18:36:25Z",
                "seconds" : 0.806858936,
                "step" : "configure-engine"
              },
              {
                "finishedAt" : "2026-12-06T18:36:25Z",
                "seconds" : 0.027221585,
                "step" : "wait-engine"
              }
            ]
          },
          "ssh" : {
            "authMode" : "key",
            "keyPath" : "/var/lib/swock-fleet/keys/id_ed25519",
            "knownHostsPath" : "machines/old1/known_hosts",
            "port" : 22,
            "user" : "tester"
          },
          "tls" : {
            "caFingerprint" : "a22d24c65ece5731e1b9246db72729b48dcbbb53cd11b76d2434a71ac43f4d5e",
            "extraSANs" : [

            ],
            "keyType" : "ecdsa-p256",
            "serverNotAfter" : "2029-12-05T18:36:24Z",
            "serverNotBefore" : "2026-12-06T18:31:24Z",
            "serverSANs" : [
              "10.231.1.14",
              "scp1",
              "localhost",
              "127.0.0.1"
            ]
          },
          "updatedAt" : "2026-12-06T18:36:25Z"
        }
        """#

    @Test func oldRecordLoadsWithEveryStepAsACase() throws {
        let dir = try TempDir("steps")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try FileManager.default.createDirectory(atPath: store.machineDir("old1"), withIntermediateDirectories: true)
        try Data(Self.oldConfig.utf8).write(to: URL(fileURLWithPath: store.configPath("old1")))

        let loaded = try store.load("old1")
        #expect(
            loaded.provisioning.stepsDone.map(\.step) == [
                .connect, .detectOS, .checkRoot, .installSSHKey, .setHostname, .installEngine, .installCerts, .configureEngine, .waitEngine,
            ])
        #expect(loaded.provisioning.isDone(.installSSHKey))
        #expect(loaded.provisioning.stepsDone[0].seconds == 0.084838862)

        // Written back: the same step strings, in the same order.
        try store.save(loaded)
        let rewritten = try String(contentsOfFile: store.configPath("old1"), encoding: .utf8)
        #expect(Self.stepStrings(rewritten) == Self.stepStrings(Self.oldConfig))
        #expect(
            Self.stepStrings(rewritten) == [
                "connect", "detect-os", "check-root", "install-ssh-key", "set-hostname",
                "install-engine", "install-certs", "configure-engine", "wait-engine",
            ])
    }

    /// The raw values are the record format: a renamed case must not change them.
    @Test func rawValuesAreTheRecordFormat() {
        #expect(
            ProvisionStep.allCases.map(\.rawValue) == [
                "check flags", "create-host", "connect", "detect-os", "check-root", "check-bundle", "install-ssh-key", "set-hostname",
                "install-engine", "install-certs", "configure-engine", "wait-engine", "run-scripts",
            ])
        #expect("\(ProvisionStep.installEngine)" == "install-engine")
    }

    @Test func anUnknownStepIsACorruptRecordNotACrash() throws {
        let dir = try TempDir("steps")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try FileManager.default.createDirectory(atPath: store.machineDir("old1"), withIntermediateDirectories: true)
        let odd = Self.oldConfig.replacingOccurrences(of: "\"step\" : \"wait-engine\"", with: "\"step\" : \"warp-engine\"")
        try Data(odd.utf8).write(to: URL(fileURLWithPath: store.configPath("old1")))
        #expect(throws: StoreError.self) { try store.load("old1") }
    }

    static func stepStrings(_ json: String) -> [String] {
        let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let steps = (object?["provisioning"] as? [String: Any])?["stepsDone"] as? [[String: Any]] ?? []
        return steps.compactMap { $0["step"] as? String }
    }
}
