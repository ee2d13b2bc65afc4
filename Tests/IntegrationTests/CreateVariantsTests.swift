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
        let r = try await cli.run(
            [
                "create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester",
                "--hostname", "pw-box", "pwbox",
            ], env: ["SWOCK_GENERIC_SSH_PASSWORD": "tester-pw"])
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
        let text = try await Subprocess.run([
            "openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", cli.store + "/machines/pwbox/server.pem",
        ])
        #expect(text.stdoutText.contains("DNS:pw-box"), "\(text.all)")
        // A wrong password is refused and never echoed.
        let bad = try await cli.run(
            ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "nope"],
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
        let unix = try await Fleet.run(
            "cv-noinit",
            "for i in $(seq 1 50); do docker version >/dev/null 2>&1 && break; sleep 0.2; done; docker version --format ok-{{.Server.Version}}; test -e /etc/docker/swock && echo certs-left; true"
        )
        #expect(unix.stdoutText.hasPrefix("ok-"), "\(unix.all)")
        #expect(!unix.stdoutText.contains("certs-left"))
    }

    /// An air-gapped host (no package source, no local repository): the engine comes from a
    /// local bundle of .deb files over SFTP. A bundle for another architecture is refused
    /// before anything is written; one apt cannot install is refused by its dry run with the
    /// host unchanged.
    @Test func airGappedHostInstallsFromABundle() async throws {
        let name = "cv-bundle"
        let host = try await Fleet.fresh(name)
        let cli = CLI()
        let work = NSTemporaryDirectory() + "swock-bundle-\(UUID().uuidString.prefix(8))"
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: work) }
        let cut = try await Fleet.run(
            name,
            "rm -rf /etc/apt/sources.list /etc/apt/sources.list.d/* /srv/repo && apt-get update -q >/dev/null 2>&1; apt-cache policy docker.io | grep -c Candidate:.*none || true"
        )
        #expect(cut.status == 0, "\(cut.all)")

        // Bundles: the real one, one with a package for arm64, one missing docker.io's dependencies.
        let debs = try await Fleet.engineDebs()
        let fm = FileManager.default
        for d in ["real", "arm", "partial", "fake/DEBIAN"] {
            try fm.createDirectory(atPath: work + "/" + d, withIntermediateDirectories: true)
        }
        for f in try fm.contentsOfDirectory(atPath: debs) where f.hasSuffix(".deb") {
            try fm.copyItem(atPath: debs + "/" + f, toPath: work + "/real/" + f)
            try fm.copyItem(atPath: debs + "/" + f, toPath: work + "/arm/" + f)
            if f.hasPrefix("docker.io_") { try fm.copyItem(atPath: debs + "/" + f, toPath: work + "/partial/" + f) }
        }
        try "Package: swock-fake\nVersion: 1\nArchitecture: arm64\nMaintainer: t <t@t>\nDescription: t\n"
            .write(toFile: work + "/fake/DEBIAN/control", atomically: true, encoding: .utf8)
        let built = try await Subprocess.run(["dpkg-deb", "--build", work + "/fake", work + "/arm/swock-fake_1_arm64.deb"])
        #expect(built.status == 0, "\(built.all)")

        let before = cli.snapshot()
        let arm = try await cli.create("m", on: host, extra: ["--engine-install", "bundle:" + work + "/arm"])
        Faults.expectOneError(arm, ["check-bundle", "swock-fake_1_arm64.deb is for arm64, the host is amd64"])
        #expect(cli.snapshot() == before, "a refused bundle changed the store")
        let partial = try await cli.create("m", on: host, extra: ["--engine-install", "bundle:" + work + "/partial"])
        Faults.expectOneError(partial, ["install-engine", "does not install on this host", "nothing was installed"])
        let untouched = try await Fleet.run(name, "command -v dockerd || echo no-dockerd; ls /tmp | grep -c swock-bundle || true")
        #expect(untouched.stdoutText == "no-dockerd\n0\n", "the host changed: \(untouched.all)")
        _ = try await cli.run(["rm", "-f", "-y", "m"])

        let r = try await cli.create("m", on: host, extra: ["--engine-install", "bundle:" + work + "/real"])
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        #expect(r.stderrText.contains("install-engine: installed from the bundle"), "\(r.stderrText.suffix(2000))")
        try await Self.wholeLifeAfterInstall(name, host: host, cli: cli, text: "air-gapped")
    }

    /// After the engine came from a bundle (as tester): ls, env + docker, the lifecycle verbs,
    /// rm back to the unix socket; then create as root on the same host (the engine is there now).
    static func wholeLifeAfterInstall(_ name: String, host: FleetHost, cli: CLI, text: String) async throws {
        let tar = try await Fleet.busyboxTarball()
        try await MachineLife.expectState("m", "Running", cli)
        try await MachineLife.expectDockerRuns("m", text, cli, tar: tar, importing: true)
        try await MachineLife.stopStartRestartRegenerate("m", cli, tar: tar)
        try await MachineLife.removeAndExpectUnixSocket("m", cli, name: name, sysv: false)
        let root = try await cli.create("m", on: host, user: "root")
        try #require(root.status == 0, "create as root: \(root.all)")
        #expect(
            root.stderrText.contains("logged in as root") && root.stderrText.contains("install-engine: dockerd already present"),
            "\(root.stderrText)")
        try await MachineLife.expectDockerRuns("m", text + " as root", cli, tar: tar)
        try await MachineLife.removeAndExpectUnixSocket("m", cli, name: name, sysv: false)
    }

    /// Docker's static binaries tarball as the bundle. No such tarball can be fetched here, so the
    /// test builds one in its layout (docker/dockerd, docker/containerd, ...) from the fleet's
    /// Debian binaries, whose shared libraries it installs on the host first; the install path
    /// (checks, upload, binaries to /usr/local/bin, a docker.service of ours, our drop-in) is the
    /// one Docker's own tarball takes.
    @Test func airGappedHostInstallsStaticBinaries() async throws {
        let name = "cv-static"
        let host = try await Fleet.fresh(name)
        let cli = CLI()
        let work = NSTemporaryDirectory() + "swock-static-\(UUID().uuidString.prefix(8))"
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: work) }
        let debs = try await Fleet.engineDebs()
        let built = try await Subprocess.run([
            "sh", "-c",
            """
            set -e; mkdir -p "$1"; cd "$1"; mkdir -p x docker fake/docker
            for p in docker.io containerd runc; do dpkg-deb -x "$2"/${p}_*.deb x; done
            for b in usr/sbin/dockerd usr/bin/docker usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/bin/ctr usr/sbin/runc usr/sbin/docker-proxy; do
              cp -L "x/$b" docker/; done
            tar -czf docker-20.10.tgz docker
            # A tarball of the same layout whose dockerd is built for arm64 (an ELF header saying so).
            for b in docker containerd containerd-shim-runc-v2 runc; do cp docker/$b fake/docker/; done
            printf '\\177ELF\\002\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\002\\000\\267\\000' > fake/docker/dockerd
            tar -czf docker-arm64.tgz -C fake docker
            """, "sh", work, debs,
        ])
        #expect(built.status == 0, "\(built.all)")

        let before = cli.snapshot()
        let arm = try await cli.create("m", on: host, extra: ["--engine-install", "bundle:" + work + "/docker-arm64.tgz"])
        Faults.expectOneError(arm, ["check-bundle", "its dockerd is built for aarch64, the host is x86_64"])
        #expect(cli.snapshot() == before, "a refused bundle changed the store")
        // No iptables on the host yet: refused before anything is installed.
        let noIptables = try await cli.create("m", on: host, extra: ["--engine-install", "bundle:" + work + "/docker-20.10.tgz"])
        Faults.expectOneError(noIptables, ["install-engine", "need iptables on the host", "nothing was installed"])
        let untouched = try await Fleet.run(
            name, "ls /usr/local/bin | wc -l; test -e /etc/systemd/system/docker.service && echo unit || echo no-unit")
        #expect(untouched.stdoutText == "0\nno-unit\n", "the host changed: \(untouched.all)")
        _ = try await cli.run(["rm", "-f", "-y", "m"])

        // iptables and the binaries' libraries from the host's offline repository, then no source at all.
        let prep = try await Fleet.run(
            name,
            """
            export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && \
            apt-get install -y -q --no-install-recommends iptables libdevmapper1.02.1 >/dev/null && \
            rm -rf /etc/apt/sources.list /etc/apt/sources.list.d/* /srv/repo && command -v dockerd || echo no-dockerd
            """)
        #expect(prep.stdoutText == "no-dockerd\n", "\(prep.all)")
        let r = try await cli.create("m", on: host, extra: ["--engine-install", "bundle:" + work + "/docker-20.10.tgz"])
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        #expect(r.stderrText.contains("installed from the static binaries"), "\(r.stderrText.suffix(2000))")
        #expect(r.stderrText.contains("dockerd at /usr/local/bin/dockerd"), "\(r.stderrText.suffix(2000))")
        try await Self.wholeLifeAfterInstall(name, host: host, cli: cli, text: "static")
    }
}
