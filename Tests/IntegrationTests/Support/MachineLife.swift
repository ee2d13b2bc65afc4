import FleetSupport
import Foundation
import Testing

/// The life of a machine as the host-kind tests walk it: ls states, `env` + docker, the
/// lifecycle verbs, and rm leaving dockerd on its unix socket with nothing of ours left.
enum MachineLife {
    /// stop (ls: Stopped), start (Running, docker runs), restart and regenerate-certs (docker runs after each).
    static func stopStartRestartRegenerate(_ machine: String, _ cli: CLI, tar: String) async throws {
        let stop = try await cli.run(["stop", machine])
        #expect(stop.status == 0, "\(stop.all)")
        try await expectState(machine, "Stopped", cli)
        let start = try await cli.run(["start", machine])
        #expect(start.status == 0, "\(start.all)")
        try await expectState(machine, "Running", cli)
        try await expectDockerRuns(machine, "after start", cli, tar: tar)
        let restart = try await cli.run(["restart", machine])
        #expect(restart.status == 0, "\(restart.all)")
        try await expectDockerRuns(machine, "after restart", cli, tar: tar)
        let regen = try await cli.run(["regenerate-certs", "-f", machine])
        #expect(regen.status == 0, "\(regen.all)")
        try await expectDockerRuns(machine, "after regenerate-certs", cli, tar: tar)
    }

    static func expectState(_ machine: String, _ state: String, _ cli: CLI) async throws {
        let ls = try await cli.run(["ls", "--filter", "name=^\(machine)$", "--format", "{{.Name}} {{.State}}"])
        #expect(ls.stdoutText == "\(machine) \(state)\n", "\(ls.all)")
    }

    /// `eval "$(swock-machine env M)"`, then the docker CLI with that environment.
    static func docker(_ machine: String, _ args: [String], _ cli: CLI) async throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        env["DOCKER_CONFIG"] = cli.dockerConfig
        for k in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"] { env.removeValue(forKey: k) }
        let script = #"e=$("$0" env "$1") || exit 97; eval "$e"; shift; exec docker "$@""#
        return try await Subprocess.run(["/bin/sh", "-c", script, CLI.binary, machine] + args, environment: env)
    }

    static func expectDockerRuns(_ machine: String, _ text: String, _ cli: CLI, tar: String, importing: Bool = false) async throws {
        if importing {
            let imp = try await Self.docker(machine, ["import", tar, "busybox:local"], cli)
            #expect(imp.status == 0, "\(imp.all)")
        }
        let run = try await Self.docker(machine, ["run", "--rm", "busybox:local", "sh", "-c", DockerRace.sleepThenEcho, text], cli)
        #expect(run.stdoutText == text + "\n", "docker run (\(text)): status \(run.status): \(run.all)")
    }

    /// rm returns only once dockerd answers on the host's unix socket: asked at once, no retry.
    /// On sysvinit/OpenRC hosts the host's own /etc/default/docker is back as it was.
    static func removeAndExpectUnixSocket(_ machine: String, _ cli: CLI, name: String, sysv: Bool) async throws {
        let rm = try await cli.run(["rm", "-y", machine])
        #expect(rm.status == 0, "\(rm.all)")
        let unix = try await Fleet.run(name, "docker -H unix:///var/run/docker.sock version")
        #expect(unix.status == 0, "dockerd does not answer on its unix socket right after rm: \(unix.all)")
        let left = try await Fleet.run(
            name,
            """
            test -e /etc/docker/swock && echo certs-left; \
            test -e /etc/systemd/system/docker.service.d/10-swock-machine.conf && echo dropin-left; \
            grep -l swock-machine /etc/default/docker /etc/conf.d/docker 2>/dev/null; \
            ss -ltn | grep -q ':2376 ' && echo tcp-still-open; true
            """)
        #expect(left.stdoutText.isEmpty, "left on the host after rm: \(left.all)")
        if sysv {
            // docker.io's conffile, which ours replaced until now, is back as the package has it.
            let now = try await Fleet.run(
                name,
                "dpkg-query -W -f='${Conffiles}' docker.io | awk '$1 == \"/etc/default/docker\" { print $2 }'; md5sum < /etc/default/docker | cut -d' ' -f1; ls /etc/default/docker.swock-backup 2>/dev/null; true"
            )
            let lines = now.stdoutText.split(separator: "\n").map(String.init)
            #expect(
                lines.count == 2 && lines[0] == lines[1],
                "/etc/default/docker is not docker.io's own again (conffile md5, file md5, backup left): \(now.all)")
        }
    }
}

/// The command for a container whose output a test reads: it waits a second, then prints its
/// argument. dockerd 20.10 answers the CLI's attach before the container's streams are attached
/// (moby/moby#29285), so a container that prints and exits at once can lose its output on a busy
/// machine: CI saw `docker run --rm busybox echo TEXT` print nothing, stderr empty, on the
/// OpenRC fleet host.
enum DockerRace {
    static let sleepThenEcho = "sleep 1; echo \"$0\""
}
