import FleetSupport
import Foundation
import Testing

/// The servers people really have: Debian 11 and 13 (their own docker.io, 20.10 and 26.x, API
/// negotiation both ways), and Debian 12 booted with sysvinit or with OpenRC instead of systemd.
/// On each, a fresh host goes through the whole life of a machine, as the sudo user `tester`
/// (the engine comes from the host's own package repository), then again as root on the same
/// host (the engine is already there).
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct HostKindsTests {
    @Test func debian11Bullseye() async throws {
        try await wholeLife(variant: "bullseye", initSystem: "systemd", os: "Debian GNU/Linux 11", engine: "20.10.")
    }

    @Test func debian13Trixie() async throws {
        try await wholeLife(variant: "trixie", initSystem: "systemd", os: "Debian GNU/Linux 13", engine: nil)
    }

    @Test func sysvinit() async throws {
        try await wholeLife(variant: "sysvinit", initSystem: "sysvinit", os: "Debian GNU/Linux 12", engine: "20.10.",
                            config: "sysvinit /etc/default/docker")
    }

    @Test func openrc() async throws {
        try await wholeLife(variant: "openrc", initSystem: "openrc", os: "Debian GNU/Linux 12", engine: "20.10.",
                            config: "OpenRC /etc/default/docker")
    }

    /// - Parameters:
    ///   - engine: the prefix of the release's own docker.io version (nil: any).
    ///   - config: what configure-engine must report (default: the systemd drop-in).
    private func wholeLife(variant: String, initSystem: String, os: String, engine: String?,
                           config: String = "systemd drop-in /etc/systemd/system/docker.service.d/10-swock-machine.conf") async throws {
        let name = "hk-" + variant
        let host = try await Fleet.fresh(name, variant: variant)
        let cli = CLI()
        defer { cli.cleanup() }
        let tar = try await Fleet.busyboxTarball()
        let sysv = initSystem != "systemd"

        // As the sudo user: the engine is installed from the host's own repository.
        let r = try await cli.create("m", on: host, user: "tester")
        try #require(r.status == 0, "create as tester on \(variant): \(r.all)")
        #expect(r.stderrText.contains("detect-os: \(os)"), "\(r.stderrText)")
        #expect(r.stderrText.contains("init \(initSystem), no dockerd"), "the init system is known before the engine is there: \(r.stderrText)")
        #expect(r.stderrText.contains("passwordless sudo works for tester"))
        #expect(r.stderrText.contains("install-engine: installed with the debian family's package manager"), "\(r.stderrText)")
        #expect(r.stderrText.contains("configure-engine: \(config)"), "\(r.stderrText)")
        if let engine { #expect(r.stderrText.contains("wait-engine: Docker \(engine)"), "\(r.stderrText)") }

        try await expectState("m", "Running", cli)
        try await expectDockerRuns("m", "hello from \(variant)", cli, tar: tar, importing: true)

        let stop = try await cli.run(["stop", "m"])
        #expect(stop.status == 0, "\(stop.all)")
        try await expectState("m", "Stopped", cli)
        let start = try await cli.run(["start", "m"])
        #expect(start.status == 0, "\(start.all)")
        try await expectState("m", "Running", cli)
        try await expectDockerRuns("m", "after start", cli, tar: tar)
        let restart = try await cli.run(["restart", "m"])
        #expect(restart.status == 0, "\(restart.all)")
        try await expectDockerRuns("m", "after restart", cli, tar: tar)
        let regen = try await cli.run(["regenerate-certs", "-f", "m"])
        #expect(regen.status == 0, "\(regen.all)")
        try await expectDockerRuns("m", "after regenerate-certs", cli, tar: tar)

        try await removeAndExpectUnixSocket("m", cli, name: name, sysv: sysv)

        // As root, on the same host: the engine is already there and stays the host's.
        let again = try await cli.create("m", on: host, user: "root")
        try #require(again.status == 0, "create as root on \(variant): \(again.all)")
        #expect(again.stderrText.contains("init \(initSystem), dockerd at"), "\(again.stderrText)")
        #expect(again.stderrText.contains("logged in as root"))
        #expect(again.stderrText.contains("install-engine: dockerd already present"), "\(again.stderrText)")
        #expect(again.stderrText.contains("configure-engine: \(config)"), "\(again.stderrText)")
        try await expectState("m", "Running", cli)
        try await expectDockerRuns("m", "hello again from \(variant)", cli, tar: tar)
        try await removeAndExpectUnixSocket("m", cli, name: name, sysv: sysv)
    }

    private func expectState(_ machine: String, _ state: String, _ cli: CLI) async throws {
        let ls = try await cli.run(["ls", "--filter", "name=^\(machine)$", "--format", "{{.Name}} {{.State}}"])
        #expect(ls.stdoutText == "\(machine) \(state)\n", "\(ls.all)")
    }

    /// `eval "$(swock-machine env M)"`, then the docker CLI with that environment.
    private func docker(_ machine: String, _ args: [String], _ cli: CLI) async throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        env["DOCKER_CONFIG"] = cli.dockerConfig
        for k in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"] { env.removeValue(forKey: k) }
        let script = #"e=$("$0" env "$1") || exit 97; eval "$e"; shift; exec docker "$@""#
        return try await Subprocess.run(["/bin/sh", "-c", script, CLI.binary, machine] + args, environment: env)
    }

    private func expectDockerRuns(_ machine: String, _ text: String, _ cli: CLI, tar: String, importing: Bool = false) async throws {
        if importing {
            let imp = try await docker(machine, ["import", tar, "busybox:local"], cli)
            #expect(imp.status == 0, "\(imp.all)")
        }
        let run = try await docker(machine, ["run", "--rm", "busybox:local", "echo", text], cli)
        #expect(run.stdoutText == text + "\n", "docker run (\(text)): \(run.all)")
    }

    /// rm returns only once dockerd answers on the host's unix socket: asked at once, no retry.
    /// On sysvinit/OpenRC hosts the host's own /etc/default/docker is back as it was.
    private func removeAndExpectUnixSocket(_ machine: String, _ cli: CLI, name: String, sysv: Bool) async throws {
        let rm = try await cli.run(["rm", "-y", machine])
        #expect(rm.status == 0, "\(rm.all)")
        let unix = try await Fleet.run(name, "docker -H unix:///var/run/docker.sock version")
        #expect(unix.status == 0, "dockerd does not answer on its unix socket right after rm: \(unix.all)")
        let left = try await Fleet.run(name, """
            test -e /etc/docker/swock && echo certs-left; \
            test -e /etc/systemd/system/docker.service.d/10-swock-machine.conf && echo dropin-left; \
            grep -l swock-machine /etc/default/docker /etc/conf.d/docker 2>/dev/null; \
            ss -ltn | grep -q ':2376 ' && echo tcp-still-open; true
            """)
        #expect(left.stdoutText.isEmpty, "left on the host after rm: \(left.all)")
        if sysv {
            // docker.io's conffile, which ours replaced until now, is back as the package has it.
            let now = try await Fleet.run(name, "dpkg-query -W -f='${Conffiles}' docker.io | awk '$1 == \"/etc/default/docker\" { print $2 }'; md5sum < /etc/default/docker | cut -d' ' -f1; ls /etc/default/docker.swock-backup 2>/dev/null; true")
            let lines = now.stdoutText.split(separator: "\n").map(String.init)
            #expect(lines.count == 2 && lines[0] == lines[1], "/etc/default/docker is not docker.io's own again (conffile md5, file md5, backup left): \(now.all)")
        }
    }
}
