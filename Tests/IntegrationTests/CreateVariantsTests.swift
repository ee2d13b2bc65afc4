import FleetSupport
import Foundation
import Testing

/// create beyond the common path: password-only hosts, an install script, a host without an
/// init system, and set hostnames.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct CreateVariantsTests {
    @Test func passwordBootstrapsAGeneratedKeyAndSetsTheHostname() async throws {
        let host = try await Fleet.fresh("cv-pw", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        // The password comes from the environment (a flag would show in ps).
        let r = try await cli.run(["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester",
                                   "--hostname", "pw-box", "pwbox"], env: ["SWOCK_GENERIC_SSH_PASSWORD": "tester-pw"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("install-ssh-key"))
        #expect(!r.all.contains("tester-pw"))
        let c = try cli.config("pwbox")
        let ssh = c["ssh"] as! [String: Any]
        #expect(ssh["authMode"] as? String == "generated-key")
        #expect(ssh["keyPath"] as? String == "machines/pwbox/id_ed25519")
        let mode = try FileManager.default.attributesOfItem(atPath: cli.store + "/machines/pwbox/id_ed25519")[.posixPermissions] as! Int
        #expect(mode == 0o600)
        // From now on the generated key is used: no password in the environment.
        let who = try await cli.run(["ssh", "pwbox", "--", "hostname; grep -c swock-machine ~/.ssh/authorized_keys"])
        #expect(who.stdoutText == "pw-box\n1\n", "\(who.all)")
        // provision again does not add the key twice.
        #expect(try await cli.run(["provision", "pwbox"]).status == 0)
        #expect(try await cli.run(["ssh", "pwbox", "--", "grep -c swock-machine ~/.ssh/authorized_keys"]).stdoutText == "1\n")
        let text = try await Subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", cli.store + "/machines/pwbox/server.pem"])
        #expect(text.stdoutText.contains("DNS:pw-box"), "\(text.all)")
        // A wrong password is refused and never echoed.
        let bad = try await cli.run(["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "nope"],
                                    env: ["SWOCK_GENERIC_SSH_PASSWORD": "wrong-pw-123"])
        #expect(bad.status == 1)
        #expect(bad.stderrText.contains("authentication as tester@\(host.ip) failed"))
        #expect(!bad.all.contains("wrong-pw-123"))
    }

    @Test func installScriptURL() async throws {
        let host = try await Fleet.fresh("cv-script")
        let dir = NSTemporaryDirectory() + "script-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            #!/bin/sh
            set -e
            apt-get update -q
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io
            echo "installed by the script" > /root/swock-script-ran
            """.write(toFile: dir + "/install.sh", atomically: true, encoding: .utf8)
        // Served from the fleet bridge's own address (10.231.0.1): never any other network.
        let port = 18000 + Int.random(in: 0..<1000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "--bind", "10.231.0.1", "--directory", dir, String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        var serving = false
        for _ in 0..<100 where !serving {
            serving = try await Subprocess.run(["curl", "-sf", "-o", "/dev/null", "http://10.231.0.1:\(port)/install.sh"]).status == 0
            if !serving { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(serving, "the script server did not come up")
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.create("scripted", on: host, extra: ["--engine-install-url", "http://10.231.0.1:\(port)/install.sh"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("with the install script http://10.231.0.1:\(port)/install.sh"), "\(r.stderrText)")
        #expect(try await Fleet.run("cv-script", "cat /root/swock-script-ran").stdoutText == "installed by the script\n")
        // --engine-install none on a host without dockerd is refused before anything is written.
        let other = try await Fleet.fresh("cv-none")
        let before = cli.snapshot()
        let none = try await cli.create("none", on: other, extra: ["--engine-install", "none"])
        #expect(none.status == 1)
        #expect(none.stderrText.contains("dockerd is not installed and --engine-install is none"), "\(none.all)")
        #expect(cli.snapshot() == before)
    }

    @Test func hostWithoutAnInitSystem() async throws {
        let host = try await Fleet.fresh("cv-noinit", variant: "nosystemd")
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.create("noinit", on: host)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("init none"), "\(r.stderrText)")
        #expect(r.stderrText.contains("dockerd started detached"), "\(r.stderrText)")
        #expect(try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "noinit", host: host).status == 0)
        #expect(try await cli.run(["stop", "noinit"]).status == 0)
        #expect(try await cli.run(["status", "noinit"]).stdoutText == "Stopped\n")
        let start = try await cli.run(["start", "noinit"])
        #expect(start.status == 0, "\(start.all)")
        #expect(try await cli.run(["status", "noinit"]).stdoutText == "Running\n")
        let rm = try await cli.run(["rm", "-y", "noinit"])
        #expect(rm.status == 0, "\(rm.all)")
        let unix = try await Fleet.run("cv-noinit", "for i in $(seq 1 50); do docker version >/dev/null 2>&1 && break; sleep 0.2; done; docker version --format ok-{{.Server.Version}}; test -e /etc/docker/swock && echo certs-left; true")
        #expect(unix.stdoutText.hasPrefix("ok-"), "\(unix.all)")
        #expect(!unix.stdoutText.contains("certs-left"))
    }
}
