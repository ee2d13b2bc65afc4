import FleetSupport
import Foundation
import Testing

/// Every way create can be refused: a clear one-line error, exit 1, and the store as it was.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct CreateErrorTests {
    /// Runs a create that must fail and checks the store did not change. A value ArgumentParser
    /// refuses (not one of an option's values) is a usage error: exit status 64.
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
        try await expectRefused(cli, base + ["--generic-ip-address", host.ip, "bad name!"], contains: ["invalid machine name \"bad name!\""])
        let dash = try await cli.run(base + ["--generic-ip-address", host.ip, "-x"])
        #expect(dash.status != 0)
        try await expectRefused(cli, base + ["--generic-ip-address", host.ip, "good"], contains: ["machine \"good\" already exists"])
        try await expectRefused(cli, ["create", "--generic-ssh-user", "tester", "other"], contains: ["--generic-ip-address is required"])
        let free = try await Fleet.freeIP()
        try await expectRefused(cli, base + ["--generic-ip-address", free, "nobody"], contains: ["create nobody: connect failed", free])
        let wrongKey = NSTemporaryDirectory() + "wrong-" + UUID().uuidString
        _ = try await Subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrongKey])
        try await expectRefused(cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "--generic-ssh-key", wrongKey, "wrongkey"],
                                contains: ["authentication as tester@\(host.ip) failed"])
        try await expectRefused(cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-key", "/nonexistent/key", "nokey"],
                                contains: ["/nonexistent/key: no such file"])
        try await expectRefused(cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "nosudo", "--generic-ssh-key", host.keyPath, "nosudo"],
                                contains: ["check-root failed", "nosudo@\(host.ip) may not use sudo"])
        try await expectRefused(cli, ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "pwsudo", "--generic-ssh-key", host.keyPath, "pwsudo"],
                                contains: ["needs a password for sudo"])
        try await expectRefused(cli, base + ["--generic-ip-address", host.ip, "--driver", "virtualbox", "vb"], status: 64,
                                contains: ["The value 'virtualbox' is invalid for '--driver <driver>'", "Please provide one of 'generic'", "there are no VM drivers"])
        try await expectRefused(cli, base + ["--generic-ip-address", host.ip, "--tls-san", "not a name", "san"], contains: ["--tls-san \"not a name\""])
    }

    @Test func unknownOSIsNamedWithTheFlagsToUse() async throws {
        let host = try await Fleet.fresh("cr-os")
        let fake = try await Fleet.run("cr-os", "printf 'ID=plan9\\nID_LIKE=\"bell-labs\"\\nPRETTY_NAME=\"Plan 9\"\\n' > /etc/os-release.swock-test && mv /etc/os-release /etc/os-release.real 2>/dev/null; cp /etc/os-release.swock-test /etc/os-release; rm -f /usr/lib/os-release.bak")
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
