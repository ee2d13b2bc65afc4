import FleetSupport
import Foundation
import Testing

/// `create -d none` on a real fleet host: a machine made with generic in one store has its
/// daemon adopted by another store with the TLS files, then the client verbs work through it
/// (env with the real docker CLI, ls, status, version, url, config, docker --all, swarm) and
/// every verb that needs SSH refuses in one line; each bad adoption is refused before anything
/// is written.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct NoneDriverTests {
    @Test func adoptsAnEndpointAndTheClientVerbsWorkWithoutSSH() async throws {
        let host = try await Fleet.fresh("d-none1", variant: "docker")
        let maker = CLI()
        defer { maker.cleanup() }
        let made = try await maker.create("src", on: host)
        #expect(made.status == 0, "\(made.all)")
        let certs = maker.store + "/machines/src"
        let url = "tcp://\(host.ip):2376"
        let tls = ["--tls-ca-cert", certs + "/ca.pem", "--tls-client-cert", certs + "/cert.pem", "--tls-client-key", certs + "/key.pem"]

        let cli = CLI()
        defer { cli.cleanup() }
        _ = try await cli.run(["ls"])  // the store's layout exists: the refusals below must not change it
        let before = cli.snapshot()
        // Each refusal: one line, nothing written; status 64 when the command line is at fault, 1 when the endpoint is.
        func refused(_ args: [String], _ expected: String, status: Int32 = 64) async throws {
            let r = try await cli.run(["create", "-d", "none"] + args + ["ext"])
            #expect(r.status == status, "\(args): \(r.all)")
            #expect(r.stderrText.contains(expected), "\(args): \(r.stderrText)")
            #expect(r.stderrText.split(separator: "\n").count == 1, "\(args): \(r.stderrText)")
            #expect(cli.snapshot() == before, "\(args) wrote something")
        }
        try await refused(["--url", "http://\(host.ip):2376"] + tls, "only tcp://HOST:PORT is supported")
        try await refused(
            [
                "--url", url, "--tls-ca-cert", certs + "/nope.pem", "--tls-client-cert", certs + "/cert.pem", "--tls-client-key",
                certs + "/key.pem",
            ],
            "--tls-ca-cert \(certs)/nope.pem (none driver): no such file")
        // A CA that did not sign the daemon's certificate.
        let other = NSTemporaryDirectory() + "d-none-ca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: other) }
        let ca = try await Subprocess.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", other + "/ca-key.pem", "-out", other + "/ca.pem", "-subj", "/CN=another CA", "-days", "2",
        ])
        #expect(ca.status == 0, "\(ca.all)")
        try await refused(
            [
                "--url", url, "--tls-ca-cert", other + "/ca.pem", "--tls-client-cert", certs + "/cert.pem", "--tls-client-key",
                certs + "/key.pem",
            ],
            "the daemon's certificate is not signed by --tls-ca-cert", status: 1)
        // A port nothing answers on.
        try await refused(["--url", "tcp://\(host.ip):2377"] + tls, "connection refused: no daemon listens there", status: 1)
        try await refused(["--url", url], "the none driver needs --tls-ca-cert, --tls-client-cert and --tls-client-key")
        try await refused(
            ["--url", url, "--generic-ip-address", host.ip] + tls,
            "--generic-ip-address is not a flag of the none driver; its flags are: --url --tls-ca-cert")
        try await refused(["--url", url, "--engine-opt", "debug=true"] + tls, "--engine-opt does not apply to the none driver")

        // The adoption.
        let adopted = try await cli.run(["create", "-d", "none", "--url", url] + tls + ["ext"])
        #expect(adopted.status == 0, "\(adopted.all)")
        #expect(adopted.stderrText.contains("is up at \(url)"), "\(adopted.stderrText)")
        let record = try cli.config("ext")
        #expect(record["driver"] as? String == "none")
        #expect((record["driverOptions"] as? [String: Any])?["url"] as? String == url)
        #expect(record["address"] as? String == host.ip)

        // env, then the real docker CLI with exactly what env printed.
        let env = try await cli.run(["env", "ext"])
        #expect(env.status == 0, "\(env.all)")
        var dockerEnv = ProcessInfo.processInfo.environment
        dockerEnv["DOCKER_CONFIG"] = cli.dockerConfig
        dockerEnv.removeValue(forKey: "DOCKER_CONTEXT")
        for line in env.stdoutText.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst("export ".count)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            dockerEnv[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        #expect(dockerEnv["DOCKER_HOST"] == url)
        let version = try await Subprocess.run(["docker", "version", "--format", "{{.Server.Os}}"], environment: dockerEnv)
        #expect(version.status == 0 && version.stdoutText == "linux\n", "\(version.all)")
        let ps = try await Subprocess.run(["docker", "ps", "-q"], environment: dockerEnv)
        #expect(ps.status == 0, "\(ps.all)")

        let ls = try await cli.run(["ls"])
        #expect(
            ls.status == 0 && ls.stdoutText.contains("ext") && ls.stdoutText.contains("none") && ls.stdoutText.contains("Running"),
            "\(ls.all)")
        let status = try await cli.run(["status", "ext"])
        #expect(status.stdoutText == "Running\n", "\(status.all)")
        let v = try await cli.run(["version", "ext"])
        #expect(v.status == 0 && !v.stdoutText.isEmpty, "\(v.all)")
        #expect(try await cli.run(["url", "ext"]).stdoutText == url + "\n")
        let config = try await cli.run(["config", "ext"])
        #expect(config.status == 0 && config.stdoutText.contains("-H=\(url)"), "\(config.all)")
        let all = try await cli.run(["docker", "--all", "--", "version", "--format", "{{.Server.Os}}"])
        #expect(all.status == 0 && all.all.contains("linux"), "\(all.all)")
        let ctx = try await Subprocess.run(
            ["docker", "--context", "ext", "version", "--format", "{{.Server.Os}}"],
            environment: ["DOCKER_CONFIG": cli.dockerConfig, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""])
        #expect(ctx.status == 0 && ctx.stdoutText == "linux\n", "\(ctx.all)")

        // Exported, then imported into another store: the machine works there as here (env with
        // its TLS files, url, status, the docker CLI).
        let archive = NSTemporaryDirectory() + "d-none-\(UUID().uuidString.prefix(8)).swock"
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let exported = try await cli.run(["export", "-o", archive, "ext"])
        #expect(exported.status == 0, "\(exported.all)")
        let elsewhere = CLI()
        defer { elsewhere.cleanup() }
        let imported = try await elsewhere.run(["import", archive])
        #expect(imported.status == 0 && imported.stderrText.contains("Imported ext into "), "\(imported.all)")
        // No note about a missing CA key: an adopted endpoint never had one of ours.
        #expect(!imported.stderrText.contains("Note:"), "\(imported.all)")
        #expect(try await elsewhere.run(["url", "ext"]).stdoutText == url + "\n")
        #expect(try await elsewhere.run(["status", "ext"]).stdoutText == "Running\n")
        let env2 = try await elsewhere.run(["env", "ext"])
        #expect(env2.status == 0 && env2.stdoutText.contains(elsewhere.store + "/machines/ext"), "\(env2.all)")
        var importedEnv = ProcessInfo.processInfo.environment
        importedEnv["DOCKER_CONFIG"] = elsewhere.dockerConfig
        importedEnv.removeValue(forKey: "DOCKER_CONTEXT")
        for line in env2.stdoutText.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst("export ".count)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            importedEnv[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            #expect(FileManager.default.fileExists(atPath: (importedEnv["DOCKER_CERT_PATH"] ?? "") + "/" + f), "\(f)")
        }
        let viaImport = try await Subprocess.run(["docker", "version", "--format", "{{.Server.Os}}"], environment: importedEnv)
        #expect(viaImport.status == 0 && viaImport.stdoutText == "linux\n", "\(viaImport.all)")

        // Swarm mode on the adopted daemon: live-restore (on, as generic configured it) cannot be
        // switched off without SSH, which is said; off on the host, swarm init works.
        let blocked = try await cli.run(["swarm", "init", "ext"])
        #expect(
            blocked.status == 1
                && blocked.stderrText.contains("ext: dockerd has live-restore on, which Swarm mode refuses, and the machine has no SSH"),
            "\(blocked.all)")
        let off = try await Fleet.run(
            "d-none1",
            "sed -i -E 's/\"live-restore\" *: *true/\"live-restore\": false/' /etc/docker/daemon.json && grep -q '\"live-restore\": false' /etc/docker/daemon.json && kill -HUP $(pidof dockerd)"
        )
        #expect(off.status == 0, "\(off.all)")
        if off.status != 0 { Issue.record("daemon.json: \(try await Fleet.run("d-none1", "cat /etc/docker/daemon.json").all)") }
        var restoring = true
        for _ in 0..<50 where restoring {
            restoring =
                try await Subprocess.run(["docker", "info", "--format", "{{.LiveRestoreEnabled}}"], environment: dockerEnv).stdoutText
                != "false\n"
            if restoring { try await Task.sleep(for: .milliseconds(200)) }
        }
        let swarm = try await cli.run(["swarm", "init", "ext"])
        #expect(swarm.status == 0, "\(swarm.all)")
        let state = try await Subprocess.run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], environment: dockerEnv)
        #expect(state.stdoutText == "active\n", "\(state.all)")
        let leave = try await cli.run(["swarm", "leave", "--force", "ext"])
        #expect(leave.status == 0, "\(leave.all)")

        // What needs SSH refuses, in one line, leaving the record as it was.
        let kept = cli.snapshot()
        for args in [
            ["ssh", "ext", "--", "true"], ["scp", "ext:/etc/hostname", other + "/h"], ["exec", "ext", "--", "true"],
            ["stop", "ext"], ["start", "ext"], ["restart", "ext"], ["kill", "ext"], ["provision", "ext"],
        ] {
            let r = try await cli.run(args)
            #expect(r.status != 0, "\(args): \(r.all)")
            #expect(r.stderrText.contains("machine \"ext\" has no SSH"), "\(args): \(r.stderrText)")
            // exec reports per machine, then its summary line.
            #expect(r.stderrText.split(separator: "\n").count == (args[0] == "exec" ? 2 : 1), "\(args): \(r.stderrText)")
        }
        #expect(cli.snapshot() == kept)

        // rm drops the record; the daemon is someone else's and keeps running.
        let rm = try await cli.run(["rm", "-y", "ext"])
        #expect(rm.status == 0, "\(rm.all)")
        #expect(try await maker.run(["status", "src"]).stdoutText == "Running\n")
        try await Fleet.down(["d-none1"])
    }

    @Test func aFleetFileAdoptsAnEndpointWithDriverNone() async throws {
        let host = try await Fleet.fresh("d-none2", variant: "docker")
        let maker = CLI()
        defer { maker.cleanup() }
        #expect(try await maker.create("src", on: host).status == 0)
        let certs = maker.store + "/machines/src"
        let cli = CLI()
        defer { cli.cleanup() }
        let file = NSTemporaryDirectory() + "d-none-fleet-\(UUID().uuidString).yaml"
        try """
        machines:
          - name: ext2
            driver: none
            driver-options: {url: "tcp://\(host.ip):2376", tls-ca-cert: "\(certs)/ca.pem", tls-client-cert: "\(certs)/cert.pem", tls-client-key: "\(certs)/key.pem"}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try await cli.run(["create", "-f", file])
        #expect(r.status == 0, "\(r.all)")
        #expect(try cli.config("ext2")["driver"] as? String == "none")
        #expect(try await cli.run(["status", "ext2"]).stdoutText == "Running\n")
        try await Fleet.down(["d-none2"])
    }
}
