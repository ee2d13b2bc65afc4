import FleetSupport
import Foundation
import SwockPKI
import Testing

/// `create` on real booted hosts, then the real docker CLI against what it made.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct CreateTests {
    @Test func createAsRootInstallsTheEngineAndDockerRunsAContainer() async throws {
        let host = try await Fleet.fresh("cr-root")
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.create("web1", on: host, user: "root")
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("(web1) install-engine: installed"), "\(r.stderrText)")
        #expect(r.stderrText.contains("wait-engine: Docker"))

        let v = try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "web1", host: host)
        #expect(v.status == 0, "\(v.all)")
        #expect(!v.stdoutText.isEmpty)
        let tar = try await Fleet.busyboxTarball()
        let imp = try await cli.docker(["import", tar, "busybox:local"], machine: "web1", host: host)
        #expect(imp.status == 0, "\(imp.all)")
        let run = try await cli.docker(
            ["run", "--rm", "busybox:local", "sh", "-c", DockerRace.sleepThenEcho, "hello from web1"], machine: "web1", host: host)
        #expect(run.status == 0, "\(run.all)")
        #expect(run.stdoutText == "hello from web1\n")

        // The record: versioned, store-relative, every step recorded, secrets 0600.
        let c = try cli.config("web1")
        #expect(c["configVersion"] as? Int == 1)
        let ssh = c["ssh"] as! [String: Any]
        #expect(ssh["knownHostsPath"] as? String == "machines/web1/known_hosts")
        let prov = c["provisioning"] as! [String: Any]
        #expect(prov["phase"] as? String == "ready")
        let steps = (prov["stepsDone"] as! [[String: Any]]).compactMap { $0["step"] as? String }
        #expect(steps == ["connect", "detect-os", "check-root", "install-engine", "install-certs", "configure-engine", "wait-engine"])
        let tls = c["tls"] as! [String: Any]
        #expect((tls["serverSANs"] as! [String]).contains(host.ip))
        #expect(tls["serverNotAfter"] != nil)
        for f in [
            "certs/ca-key.pem", "certs/key.pem", "machines/web1/key.pem", "machines/web1/server-key.pem", "machines/web1/config.json",
        ] {
            let mode = try FileManager.default.attributesOfItem(atPath: cli.store + "/" + f)[.posixPermissions] as! Int
            #expect(mode == 0o600, "\(f) has mode \(String(mode, radix: 8))")
        }
        for d in ["", "/certs", "/machines", "/machines/web1"] {
            let mode = try FileManager.default.attributesOfItem(atPath: cli.store + d)[.posixPermissions] as! Int
            #expect(mode == 0o700, "\(d) has mode \(String(mode, radix: 8))")
        }
        // The server key on the host is root-only.
        let onHost = try await Fleet.run("cr-root", "stat -c '%a %U' /etc/docker/swock/server-key.pem")
        #expect(onHost.stdoutText == "600 root\n")

        // provision on a healthy machine is harmless.
        let again = try await cli.run(["provision", "web1"])
        #expect(again.status == 0, "\(again.all)")
        #expect(again.stderrText.contains("dockerd already present"))

        // create wrote a docker context: docker --context web1 works.
        var ctxEnv = ProcessInfo.processInfo.environment
        ctxEnv["DOCKER_CONFIG"] = cli.dockerConfig
        for k in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"] { ctxEnv.removeValue(forKey: k) }
        let ctx = try await Subprocess.run(
            ["docker", "--context", "web1", "version", "--format", "{{.Server.Version}}"], environment: ctxEnv)
        #expect(ctx.status == 0, "\(ctx.all)")

        // rm cleans the host and leaves dockerd answering on its unix socket the moment it returns
        // (no retry: the engine was installed by create, so docker.socket must have been restarted).
        let rm = try await cli.run(["rm", "-y", "web1"])
        #expect(rm.status == 0, "\(rm.all)")
        let contexts = try await Subprocess.run(["docker", "context", "ls", "--format", "{{.Name}}"], environment: ctxEnv)
        #expect(!contexts.stdoutText.contains("web1"), "\(contexts.all)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/web1"))
        let after = try await Fleet.run(
            "cr-root",
            """
            test -e /etc/systemd/system/docker.service.d/10-swock-machine.conf && echo dropin-left; \
            test -e /etc/docker/swock && echo certs-left; \
            docker version --format 'unix-ok {{.Server.Version}}'; \
            ss -ltn | grep -q ':2376 ' && echo tcp-still-open; true
            """)
        #expect(!after.stdoutText.contains("left"), "\(after.stdoutText)")
        #expect(after.stdoutText.contains("unix-ok"), "\(after.all)")
        #expect(!after.stdoutText.contains("tcp-still-open"))
    }

    @Test func createAsSudoUserWithRSACertificates() async throws {
        let host = try await Fleet.fresh("cr-sudo")
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.create(
            "web2", on: host, user: "tester",
            extra: ["--tls-key-type", "rsa", "--tls-san", "web2.example.test", "--engine-label", "tier=test"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("passwordless sudo works for tester"))
        let info = try await cli.docker(["info", "--format", "{{json .Labels}}"], machine: "web2", host: host)
        #expect(info.stdoutText.contains("tier=test"), "\(info.all)")
        let text = try await Subprocess.run(["openssl", "x509", "-noout", "-text", "-in", cli.store + "/machines/web2/server.pem"])
        #expect(text.stdoutText.contains("rsaEncryption"))
        #expect(text.stdoutText.contains("DNS:web2.example.test"))
        #expect(text.stdoutText.contains("IP Address:\(host.ip)"))
        #expect(text.stdoutText.contains("TLS Web Server Authentication"))

        // A client certificate from another CA is refused by the daemon.
        let other = try CertificateAuthority.generate(commonName: "someone else")
        let stranger = try other.issueClientCertificate()
        let dir = NSTemporaryDirectory() + "stranger-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try String(contentsOfFile: cli.store + "/machines/web2/ca.pem", encoding: .utf8).write(
            toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        try stranger.certificatePEM.write(toFile: dir + "/cert.pem", atomically: true, encoding: .utf8)
        try stranger.privateKeyPEM.write(toFile: dir + "/key.pem", atomically: true, encoding: .utf8)
        var env = cli.dockerEnv("web2", host: host)
        env["DOCKER_CERT_PATH"] = dir
        let refused = try await Subprocess.run(["docker", "version"], environment: env)
        #expect(refused.status != 0)
        #expect(
            refused.stderrText.lowercased().contains("certificate") || refused.stderrText.lowercased().contains("tls"), "\(refused.all)")
        // ... and so is a client with no certificate at all.
        var plain = ProcessInfo.processInfo.environment
        plain["DOCKER_HOST"] = "tcp://\(host.ip):2376"
        plain.removeValue(forKey: "DOCKER_TLS_VERIFY")
        plain.removeValue(forKey: "DOCKER_CERT_PATH")
        let anonymous = try await Subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], environment: plain)
        #expect(anonymous.status != 0)
    }

    @Test func adoptingAHostKeepsItsRunningContainerAndSettings() async throws {
        let host = try await Fleet.fresh("cr-adopt", variant: "docker")
        let tar = try await Fleet.busyboxTarball()
        let prep = try await Fleet.run(
            "cr-adopt",
            """
            for i in $(seq 1 50); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
            docker rm -f keep >/dev/null 2>&1
            docker import - busybox:local < /dev/stdin >/dev/null && \
            docker run -d --name keep busybox:local sleep 100000 >/dev/null && \
            docker inspect -f '{{.State.StartedAt}}' keep
            """, stdin: try Data(contentsOf: URL(fileURLWithPath: tar)))
        #expect(prep.status == 0, "\(prep.all)")
        let startedAt = prep.stdoutText
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.create("adopted", on: host)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("dockerd already present"))
        let ps = try await cli.docker(["inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", "keep"], machine: "adopted", host: host)
        #expect(ps.stdoutText == "true \(startedAt)", "\(ps.all)")
    }

    @Test func aCreateKilledDuringInstallIsResumedByProvision() async throws {
        let host = try await Fleet.fresh("cr-kill")
        let cli = CLI()
        defer { cli.cleanup() }
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = [
            "create", "--generic-ip-address", host.ip, "--generic-ssh-user", host.user, "--generic-ssh-key", host.keyPath, "halfway",
        ]
        p.environment = env
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Wait until the record exists and the install is running on the host, then kill -9.
        var killedDuringInstall = false
        for _ in 0..<300 {
            let c = try? cli.config("halfway")
            let steps =
                ((c?["provisioning"] as? [String: Any])?["stepsDone"] as? [[String: Any]])?.compactMap { $0["step"] as? String } ?? []
            if steps.contains("check-root") {
                let apt = try await Fleet.run("cr-kill", "pgrep -f 'apt-get|dpkg' >/dev/null && echo busy")
                if apt.stdoutText.contains("busy") {
                    kill(p.processIdentifier, SIGKILL)
                    killedDuringInstall = !steps.contains("install-engine")
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        p.waitUntilExit()
        #expect(killedDuringInstall, "the create was not caught during the install")
        let c = try cli.config("halfway")
        #expect((c["provisioning"] as? [String: Any])?["phase"] as? String != "ready")
        let ls = try await cli.run(["env", "halfway"])
        #expect(ls.status != 0)
        #expect(ls.stderrText.contains("provision halfway"), "\(ls.all)")

        let resume = try await cli.run(["provision", "halfway"])
        #expect(resume.status == 0, "\(resume.all)")
        let v = try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "halfway", host: host)
        #expect(v.status == 0, "\(v.all)")
    }

    @Test func eightParallelCreatesIntoOneEmptyStoreAllVerify() async throws {
        let names = (1...8).map { "par\($0)" }
        let hosts = try await Fleet.fresh(names, variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        let results = try await withThrowingTaskGroup(of: (String, Subprocess.Result).self) { g in
            for (n, h) in zip(names, hosts) { g.addTask { (n, try await cli.create(n, on: h)) } }
            var out: [(String, Subprocess.Result)] = []
            for try await r in g { out.append(r) }
            return out
        }
        for (n, r) in results { #expect(r.status == 0, "\(n): \(r.all)") }
        let ca = cli.store + "/certs/ca.pem"
        for n in names {
            for cert in ["server.pem", "cert.pem"] {
                let v = try await Subprocess.run(["openssl", "verify", "-CAfile", ca, "\(cli.store)/machines/\(n)/\(cert)"])
                #expect(v.status == 0, "\(n)/\(cert): \(v.all)")
            }
            let same = try await Subprocess.run(["cmp", ca, "\(cli.store)/machines/\(n)/ca.pem"])
            #expect(same.status == 0)
        }
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.State}}"])
        #expect(ls.stdoutText == names.map { "\($0) Running" }.joined(separator: "\n") + "\n", "\(ls.all)")
        for (n, h) in zip(names, hosts) {
            let v = try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: n, host: h)
            #expect(v.status == 0, "\(n): \(v.all)")
        }
    }
}
