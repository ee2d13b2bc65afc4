import FleetSupport
import Foundation
import Testing

/// Every way create can be refused: a clear one-line error, exit 1, and the store as it was.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct CreateErrorTests {
    /// Runs a create that must fail and checks the store did not change. A value ArgumentParser
    /// refuses (not one of an option's values), and a value create's own checks refuse, is a
    /// usage error: exit status 64.
    func expectRefused(_ cli: CLI, _ args: [String], status: Int32 = 1, contains: [String]) async throws {
        let before = cli.snapshot()
        let r = try await cli.run(args)
        #expect(r.status == status, "\(args): \(r.all)")
        let errLines = r.stderrText.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errLines.count == 1, "\(r.stderrText)")
        for c in contains { #expect(r.stderrText.contains(c), "expected \"\(c)\" in: \(r.stderrText)") }
        #expect(cli.snapshot() == before, "the store changed after: \(args)")
    }

    @Test func refusalsLeaveTheStoreAsItWas() async throws {
        let host = try await Fleet.fresh("cr-err", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        // A good machine first, so the store is not empty.
        let ok = try await cli.create("good", on: host)
        #expect(ok.status == 0, "\(ok.all)")

        let base = ["create", "--generic-ssh-user", "tester", "--generic-ssh-key", host.keyPath]
        try await expectRefused(
            cli, base + ["--generic-ip-address", host.ip, "bad name!"], contains: ["invalid machine name \"bad name!\""])
        let dash = try await cli.run(base + ["--generic-ip-address", host.ip, "-x"])
        #expect(dash.status != 0)
        try await expectRefused(cli, base + ["--generic-ip-address", host.ip, "good"], contains: ["machine \"good\" already exists"])
        try await expectRefused(
            cli, ["create", "--generic-ssh-user", "tester", "other"], status: 64, contains: ["--generic-ip-address is required"])
        let free = try await Fleet.freeIP()
        try await expectRefused(cli, base + ["--generic-ip-address", free, "nobody"], contains: ["create nobody: connect failed", free])
        let wrongKey = NSTemporaryDirectory() + "wrong-" + UUID().uuidString
        _ = try await Subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrongKey])
        try await expectRefused(
            cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "--generic-ssh-key", wrongKey, "wrongkey"],
            contains: ["authentication as tester@\(host.ip) failed"])
        try await expectRefused(
            cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-key", "/nonexistent/key", "nokey"],
            status: 64, contains: ["/nonexistent/key: no such file"])
        try await expectRefused(
            cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "nosudo", "--generic-ssh-key", host.keyPath, "nosudo"],
            contains: ["check-root failed", "nosudo@\(host.ip) may not use sudo"])
        try await expectRefused(
            cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "pwsudo", "--generic-ssh-key", host.keyPath, "pwsudo"],
            contains: ["needs a password for sudo"])
        try await expectRefused(
            cli, base + ["--generic-ip-address", host.ip, "--driver", "virtualbox", "vb"], status: 64,
            contains: [
                "no driver \"virtualbox\": the built-in ones are generic, none, qemu, and there is no docker-machine-driver-virtualbox in "
            ])
        try await expectRefused(
            cli, base + ["--generic-ip-address", host.ip, "--tls-san", "not a name", "san"], status: 64,
            contains: ["--tls-san \"not a name\""])
    }

    /// The expected host key given up front (`--ssh-host-key-fingerprint`, `--ssh-known-hosts`),
    /// so that `--ssh-host-key strict` works at create and first contact is not trust-on-first-use:
    /// the right key is pinned; another one is refused naming both fingerprints, the store untouched.
    @Test func expectedHostKeyGivenUpFront() async throws {
        let name = "op-hostkey"
        let host = try await Fleet.fresh(name, variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        let dir = NSTemporaryDirectory() + "op-hk-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func fingerprint(_ pubLine: String) async throws -> String {
            let r = try await Subprocess.run(["ssh-keygen", "-lf", "-"], stdin: Data(pubLine.utf8))
            let fp = r.stdoutText.split(separator: " ").first { $0.hasPrefix("SHA256:") }.map(String.init)
            return try #require(fp, "ssh-keygen -lf: \(r.all)")
        }
        // The host's own keys, read out of band (as an operator would from the console).
        let pubs = try await Fleet.run(
            name, "cat /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub")
        let keyLines = pubs.stdoutText.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        try #require(keyLines.count == 3, "\(pubs.all)")
        var hostFingerprints: [String] = []
        for l in keyLines { hostFingerprints.append(try await fingerprint(l)) }
        // Another key, that the host does not have.
        _ = try await Subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/other"])
        let otherLine = try String(contentsOfFile: dir + "/other.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(
            separator: " ")
        let otherFP = try await fingerprint(otherLine)

        let base = [
            "create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "--generic-ssh-key", host.keyPath, "--ssh-host-key",
            "strict",
        ]
        // strict with nothing to check against: refused up front, naming the flags.
        try await expectRefused(
            cli, base + ["m0"], status: 64,
            contains: ["--ssh-host-key strict needs the expected host key", "--ssh-host-key-fingerprint", "--ssh-known-hosts"])
        try await expectRefused(
            cli, base + ["--ssh-host-key-fingerprint", "MD5:12:34", "m0"], status: 64,
            contains: ["--ssh-host-key-fingerprint \"MD5:12:34\""])
        // A wrong fingerprint: refused with both, nothing written.
        try await expectRefused(
            cli, base + ["--ssh-host-key-fingerprint", otherFP, "m1"], contains: ["connect failed", otherFP, "not the one expected"])
        let wrong = try await cli.run(base + ["--ssh-host-key-fingerprint", otherFP, "m1"])
        #expect(
            hostFingerprints.contains { Faults.errorLine(wrong).contains($0) },
            "the presented fingerprint is not named: \(wrong.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/m1"))
        // without strict too (accept-new does not override an expected fingerprint).
        try await expectRefused(
            cli,
            [
                "create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "--generic-ssh-key", host.keyPath,
                "--ssh-host-key-fingerprint", otherFP, "m1",
            ], contains: [otherFP, "not the one expected"])

        // The right fingerprints (any of the host's keys): strict succeeds, and the key is pinned.
        let good = try await cli.run(base + hostFingerprints.flatMap { ["--ssh-host-key-fingerprint", $0] } + ["m1"])
        #expect(good.status == 0, "\(good.all)")
        let pinned = try String(contentsOfFile: cli.store + "/machines/m1/known_hosts", encoding: .utf8)
        #expect(keyLines.contains { pinned.contains($0.split(separator: " ")[1]) }, "the host key is not pinned: \(pinned)")
        let ssh = try await cli.run(["ssh", "m1", "--", "echo pinned"])
        #expect(ssh.stdoutText == "pinned\n", "\(ssh.all)")

        // A known_hosts file: plain, then hashed (ssh-keygen -H), with the host's keys.
        let plain = keyLines.map { "\(host.ip) \($0)" }.joined(separator: "\n") + "\n"
        try ("other.example " + otherLine + "\n" + plain).write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        try plain.write(toFile: dir + "/hashed", atomically: true, encoding: .utf8)
        let hashing = try await Subprocess.run(["ssh-keygen", "-H", "-f", dir + "/hashed"])
        try #require(hashing.status == 0, "\(hashing.all)")
        #expect(try String(contentsOfFile: dir + "/hashed", encoding: .utf8).hasPrefix("|1|"))
        for (file, machine) in [("plain", "m2"), ("hashed", "m3")] {
            let r = try await cli.run(base + ["--ssh-known-hosts", dir + "/" + file, machine])
            #expect(r.status == 0, "\(file): \(r.all)")
            let kh = try String(contentsOfFile: cli.store + "/machines/\(machine)/known_hosts", encoding: .utf8)
            #expect(!kh.contains("other.example"), "\(file): other hosts' keys were copied: \(kh)")
        }
        // A known_hosts file with another key for the host: refused with both fingerprints.
        try "\(host.ip) \(otherLine)\n".write(toFile: dir + "/wrong", atomically: true, encoding: .utf8)
        try await expectRefused(
            cli, base + ["--ssh-known-hosts", dir + "/wrong", "m4"], contains: [otherFP, "pinned in \(dir)/wrong"])
        let wrongFile = try await cli.run(base + ["--ssh-known-hosts", dir + "/wrong", "m4"])
        #expect(
            hostFingerprints.contains { Faults.errorLine(wrongFile).contains($0) },
            "the presented fingerprint is not named: \(wrongFile.stderrText)")
        // One without the host: refused before connecting, naming it.
        try "other.example \(otherLine)\n".write(toFile: dir + "/none", atomically: true, encoding: .utf8)
        try await expectRefused(
            cli, base + ["--ssh-known-hosts", dir + "/none", "m4"], status: 64,
            contains: ["--ssh-known-hosts \(dir)/none has no key for \(host.ip)"])

        // A fleet file says the same. Its machine with the wrong fingerprint keeps a failed record
        // (the file declares the inventory) that holds the expectation, so neither `provision`
        // nor `ssh` pins the key that answers; the known_hosts file works.
        try """
        defaults: {user: tester, key: \(host.keyPath), ssh-host-key: strict}
        machines:
          - {name: f1, address: \(host.ip), ssh-host-key-fingerprints: ["\(otherFP)"]}
          - {name: f2, address: \(host.ip), ssh-known-hosts: \(dir)/hashed}
        """.write(toFile: dir + "/fleet.yml", atomically: true, encoding: .utf8)
        let fleet = try await cli.run(["create", "-f", dir + "/fleet.yml"])
        #expect(fleet.status == 2, "one of two failed: \(fleet.all)")
        #expect(fleet.all.contains(otherFP) && fleet.all.contains("1 ready, 1 failed"), "\(fleet.all)")
        let f1 = try cli.config("f1")
        #expect((f1["ssh"] as? [String: Any])?["expectedHostKeys"] as? [String] == [otherFP], "\(f1)")
        #expect((f1["provisioning"] as? [String: Any])?["phase"] as? String == "failed", "\(f1)")
        for args in [["provision", "f1"], ["ssh", "f1", "--", "true"]] {
            let again = try await cli.run(args)
            #expect(again.status != 0, "\(args): \(again.all)")
            #expect(again.all.contains(otherFP) && again.all.contains("not the one expected"), "\(args): \(again.all)")
            let pinned = (try? String(contentsOfFile: cli.store + "/machines/f1/known_hosts", encoding: .utf8)) ?? ""
            #expect(pinned.allSatisfy { $0.isWhitespace }, "\(args) pinned a key: \(pinned)")
        }
        #expect((try? cli.config("f2"))?["provisioning"].flatMap { ($0 as? [String: Any])?["phase"] as? String } == "ready", "\(fleet.all)")
    }

    @Test func unknownOSIsNamedWithTheFlagsToUse() async throws {
        let host = try await Fleet.fresh("cr-os")
        let fake = try await Fleet.run(
            "cr-os",
            "printf 'ID=plan9\\nID_LIKE=\"bell-labs\"\\nPRETTY_NAME=\"Plan 9\"\\n' > /etc/os-release.swock-test && mv /etc/os-release /etc/os-release.real 2>/dev/null; cp /etc/os-release.swock-test /etc/os-release; rm -f /usr/lib/os-release.bak"
        )
        #expect(fake.status == 0)
        defer { Task { _ = try? await Fleet.run("cr-os", "mv /etc/os-release.real /etc/os-release") } }
        let cli = CLI()
        defer { cli.cleanup() }
        let before = cli.snapshot()
        let r = try await cli.create("plan9", on: host)
        #expect(r.status == 1)
        #expect(r.stderrText.contains("cannot install Docker Engine on OS \"plan9\", ID_LIKE bell-labs"), "\(r.stderrText)")
        #expect(r.stderrText.contains("--engine-install-url"))
        #expect(r.stderrText.contains("--engine-install none"))
        #expect(cli.snapshot() == before)
    }
}
