import FleetSupport
import Foundation
import Testing

/// `create -f fleet.yaml`: many hosts at once, each failure isolated and resumable.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct FleetCreateTests {
    @Test func fiveHostsOneWithAWrongKeyThenProvisionFixesIt() async throws {
        let names = (1...5).map { "fc\($0)" }
        let hosts = try await Fleet.fresh(names, variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        let wrongKey = NSTemporaryDirectory() + "fc-wrong-" + UUID().uuidString
        #expect(try await Subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrongKey]).status == 0)
        var yaml = """
            # five hosts; the last one's key is not authorized there (yet)
            defaults:
              user: tester
              key: \(hosts[0].keyPath)
              labels: {env: test}
              engine:
                labels: [fleet=fc]
            machines:

            """
        for (i, h) in hosts.enumerated() {
            yaml += "  - name: \(names[i])\n    address: \(h.ip)\n    labels: {role: r\(i)}\n"
            if i == 4 { yaml += "    key: \(wrongKey)\n" }
        }
        let file = NSTemporaryDirectory() + "fleet-\(UUID().uuidString).yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let r = try await cli.run(["create", "-f", file, "-p", "5"])
        #expect(r.status == 2, "\(r.all)")
        let rows = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(rows.first?.hasPrefix("NAME") == true)
        for n in names.prefix(4) { #expect(rows.contains { $0.hasPrefix(n + " ") && $0.contains("ready") }, "\(r.stdoutText)") }
        #expect(rows.contains { $0.hasPrefix("fc5 ") && $0.contains("failed") && $0.contains("authentication") }, "\(r.stdoutText)")
        #expect(r.stderrText.contains("4 ready, 1 failed"))
        #expect(r.stderrText.contains("swock-machine provision fc5"))
        let ls = try await cli.run(["ls", "--filter", "label=env=test", "--format", "{{.Name}} {{.State}} {{.Labels.role}}"])
        #expect(
            ls.stdoutText == "fc1 Running r0\nfc2 Running r1\nfc3 Running r2\nfc4 Running r3\nfc5 Timeout r4\n"
                || ls.stdoutText.hasPrefix("fc1 Running r0\nfc2 Running r1\nfc3 Running r2\nfc4 Running r3\nfc5 "), "\(ls.all)")
        // Machine labels reach dockerd as engine labels, with the file's engine labels.
        let info = try await cli.docker(["info", "--format", "{{json .Labels}}"], machine: "fc2", host: hosts[1])
        #expect(
            info.stdoutText.contains("role=r1") && info.stdoutText.contains("env=test") && info.stdoutText.contains("fleet=fc"),
            "\(info.all)")

        // Correct the key (authorize it on the host), then provision finishes the fifth.
        let pub = try String(contentsOfFile: wrongKey + ".pub", encoding: .utf8)
        #expect(try await Fleet.run("fc5", "cat >> /home/tester/.ssh/authorized_keys", stdin: Data(pub.utf8)).status == 0)
        let fix = try await cli.run(["provision", "fc5"])
        #expect(fix.status == 0, "\(fix.all)")
        let v = try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "fc5", host: hosts[4])
        #expect(v.status == 0, "\(v.all)")
        // The same file again: everything exists, nothing fails.
        let again = try await cli.run(["create", "-f", file])
        #expect(again.status == 0, "\(again.all)")
        #expect(again.stderrText.contains("5 ready, 0 failed"))
    }

    @Test func aBrokenFleetFileIsRefusedWithItsReason() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let file = NSTemporaryDirectory() + "bad-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        for (text, expected) in [
            ("machines:\n  - name: a\n    address: 10.231.1.1\n  - name: a\n    address: 10.231.1.2\n", "machine \"a\" is listed twice"),
            ("machines:\n  - name: 'bad name'\n    address: 10.231.1.1\n", "invalid machine name"),
            ("machines:\n  - name: a\n", "machine \"a\" has no address"),
            ("machines: [", "not valid YAML or JSON"),
            ("{\"machines\": []}", "no machines listed"),
        ] {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let r = try await cli.run(["create", "-f", file])
            #expect(r.status == 1)
            #expect(r.stderrText.contains(expected), "\(text): \(r.stderrText)")
            #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines"))
        }
    }
}
