import FleetSupport
import Foundation
import Testing

/// The docker-machine habits, end to end against real daemons.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct RoutingTests {
    /// Two machines on docker-variant hosts (create takes ~2 s there).
    func twoMachines(_ prefix: String) async throws -> (CLI, [FleetHost]) {
        let hosts = try await Fleet.fresh(["\(prefix)1", "\(prefix)2"], variant: "docker")
        let cli = CLI()
        for (i, h) in hosts.enumerated() {
            let r = try await cli.create("web\(i + 1)", on: h)
            #expect(r.status == 0, "\(r.all)")
        }
        return (cli, hosts)
    }

    @Test func envConfigUseAndActive() async throws {
        let (cli, hosts) = try await twoMachines("rt")
        defer { cli.cleanup() }
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        env["DOCKER_CONFIG"] = cli.dockerConfig
        env["PATH"] = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "")
        env.removeValue(forKey: "DOCKER_HOST")
        env.removeValue(forKey: "DOCKER_CERT_PATH")
        env.removeValue(forKey: "DOCKER_TLS_VERIFY")

        // eval "$(swock-machine env web1)"; docker ps
        let evalEnv = try await Subprocess.run(
            ["bash", "-c", "eval \"$(swock-machine env web1)\" && docker ps --format '{{.ID}}' && docker info --format '{{.Name}}'"],
            environment: env)
        #expect(evalEnv.status == 0, "\(evalEnv.all)")
        #expect(evalEnv.stdoutText.hasSuffix("rt1\n"), "\(evalEnv.all)")
        // docker $(swock-machine config web1) ps
        // One flag a line: with a space in the store path, split on newlines only.
        let viaConfig = try await Subprocess.run(
            ["bash", "-c", "IFS=$'\\n'; docker $(swock-machine config web2) info --format '{{.Name}}'"], environment: env)
        #expect(viaConfig.stdoutText == "rt2\n", "\(viaConfig.all)")

        // docker --context web1 (the context create wrote), and use --docker-context.
        let ctx = try await Subprocess.run(["docker", "--context", "web1", "info", "--format", "{{.Name}}"], environment: env)
        #expect(ctx.stdoutText == "rt1\n", "\(ctx.all)")
        #expect(try await cli.run(["use", "--docker-context", "web2"]).status == 0)
        let current = try await Subprocess.run(["docker", "info", "--format", "{{.Name}}"], environment: env)
        #expect(current.stdoutText == "rt2\n", "\(current.all)")
        #expect(try await cli.run(["use", "--unset"]).status == 0)
        let contexts = try await Subprocess.run(
            ["docker", "context", "ls", "--format", "{{.Name}}{{if .Current}}*{{end}}"], environment: env)
        #expect(contexts.stdoutText.contains("default*"), "\(contexts.all)")

        // use web2: env with no name points at web2; active says so.
        #expect(try await cli.run(["use", "web2"]).status == 0)
        let e = try await cli.run(["env", "--shell", "bash"])
        #expect(e.stdoutText.contains("export DOCKER_HOST=\"tcp://\(hosts[1].ip):2376\""), "\(e.all)")
        #expect(e.stdoutText.contains("export DOCKER_MACHINE_NAME=\"web2\""))
        #expect(
            e.stdoutText.hasSuffix("# Run this command to configure your shell: \n# eval $(swock-machine env --shell bash web2)\n"),
            "\(e.stdoutText)")
        #expect(try await cli.run(["active"]).stdoutText == "web2\n")
        // DOCKER_HOST in the environment wins when it is one of ours.
        #expect(try await cli.run(["active"], env: ["DOCKER_HOST": "tcp://\(hosts[0].ip):2376"]).stdoutText == "web1\n")
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.Active}}"])
        #expect(ls.stdoutText == "web1 -\nweb2 *\n", "\(ls.all)")
        #expect(try await cli.run(["use", "--unset"]).status == 0)
        let none = try await cli.run(["env"])
        #expect(none.status == 1)
        #expect(none.stderrText.contains("no active machine"), "\(none.all)")

        // Each shell really evaluates what env prints.
        for (shell, argv) in [("bash", ["bash", "-c"]), ("zsh", ["zsh", "-c"]), ("fish", ["fish", "-c"]), ("tcsh", ["tcsh", "-c"])] {
            guard
                FileManager.default.isExecutableFile(atPath: "/usr/bin/\(shell)")
                    || FileManager.default.isExecutableFile(atPath: "/bin/\(shell)")
            else {
                if Fleet.inCI { Issue.record("\(shell) is not installed (scripts/deps installs it)") }
                print("skipping the \(shell) env check: \(shell) is not installed")
                continue
            }
            let out = try await cli.run(["env", "--shell", shell, "web1"]).stdoutText
            let script = dir(cli) + "/env.\(shell)"
            try out.write(toFile: script, atomically: true, encoding: .utf8)
            let source = shell == "tcsh" ? "source \(script)" : (shell == "fish" ? "source \(script)" : ". \(script)")
            let r = try await Subprocess.run(argv + ["\(source); docker info --format '{{.Name}}'"], environment: env)
            #expect(r.stdoutText == "rt1\n", "\(shell): \(r.all)")
        }
        // --unset undoes it.
        let unset = try await Subprocess.run(
            ["bash", "-c", "eval \"$(swock-machine env web1)\"; eval \"$(swock-machine env --unset)\"; echo \"[${DOCKER_HOST-}]\""],
            environment: env)
        #expect(unset.stdoutText.hasSuffix("[]\n"), "\(unset.all)")

        // Docker Machine's habits: ssh NAME CMD without --, env -u, rm -f without a question.
        let plain = try await cli.run(["ssh", "web1", "hostname"])
        #expect(plain.stdoutText == "rt1\n", "\(plain.all)")
        let words = try await cli.run(["ssh", "web1", "sh", "-c", "echo $0 -h; exit 3", "x"])
        #expect(words.status == 3 && words.stdoutText == "x -h\n", "\(words.all)")
        #expect(try await cli.run(["ssh", "web1", "--", "hostname"]).stdoutText == "rt1\n")
        let u = try await Subprocess.run(["bash", "-c", "eval \"$(swock-machine env -u)\"; echo \"[${DOCKER_HOST-}]\""], environment: env)
        #expect(u.stdoutText.hasSuffix("[]\n"), "\(u.all)")
        let uName = try await cli.run(["env", "-u", "web1"])
        #expect(
            uName.status == 64 && uName.stderrText.hasPrefix("Error: Expected no machine name when the -u flag is present"), "\(uName.all)")
        let rmForce = try await cli.run(["rm", "-f", "web2"], stdin: Data())
        #expect(rmForce.status == 0 && !rmForce.stderrText.contains("Are you sure"), "\(rmForce.all)")
        #expect(try await cli.run(["ls", "-q"]).stdoutText == "web1\n")
        let gone = try await cli.run(["rm", "-f", "web2"])
        #expect(gone.stderrText.hasPrefix("Error: Docker machine \"web2\" does not exist"), "\(gone.all)")
    }

    func dir(_ cli: CLI) -> String {
        let d = NSTemporaryDirectory() + "rt-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func lifecycleAndLsStates() async throws {
        let (cli, hosts) = try await twoMachines("lc")
        defer { cli.cleanup() }
        func state(_ name: String) async throws -> String {
            try await cli.run(["ls", "--filter", "name=^\(name)$", "--format", "{{.State}}"]).stdoutText
        }
        #expect(try await state("web1") == "Running\n")
        let stop = try await cli.run(["stop", "web1"])
        #expect(stop.status == 0, "\(stop.all)")
        #expect(try await state("web1") == "Stopped\n")
        #expect(try await cli.run(["status", "web1"]).stdoutText == "Stopped\n")
        // url reads the record (instant, no network); --check asks the daemon, as Docker Machine's url did.
        let url = try await cli.run(["url", "web1"])
        #expect(url.status == 0 && url.stdoutText.hasPrefix("tcp://"), "\(url.all)")
        let urlCheck = try await cli.run(["url", "--check", "web1"])
        #expect(urlCheck.status == 1)
        #expect(
            urlCheck.stderrText.hasPrefix("Error: Host is not running (Stopped); `swock-machine start web1` starts it"), "\(urlCheck.all)")
        let version = try await cli.run(["version", "web1"])
        #expect(
            version.stderrText.hasPrefix("Error: Host is not running (its engine does not answer); `swock-machine start web1`"),
            "\(version.all)")
        let envCheck = try await cli.run(["env", "--check", "web1"])
        #expect(envCheck.status == 1)
        #expect(envCheck.stderrText.contains("Host is not running"))
        #expect(try await cli.run(["start", "web1"]).status == 0)
        #expect(try await state("web1") == "Running\n")
        #expect(try await cli.run(["url", "web1"]).stdoutText == "tcp://\(hosts[0].ip):2376\n")
        let kill = try await cli.run(["kill", "web2"])
        #expect(kill.status == 0, "\(kill.all)")
        try await Task.sleep(for: .seconds(3))  // Restart=always would have brought it back by now
        #expect(try await state("web2") == "Stopped\n")
        // restart several at once
        let restart = try await cli.run(["restart", "web1", "web2"])
        #expect(restart.status == 0, "\(restart.all)")
        #expect(try await cli.run(["ls", "--format", "{{.Name}} {{.State}}"]).stdoutText == "web1 Running\nweb2 Running\n")
        // Templates with the docker CLI's functions and "table"; Docker Machine's {{.Driver.X}}.
        let table = try await cli.run(["ls", "--format", "table {{.Name | upper}}\\t{{.State | lower}}"])
        #expect(table.stdoutText == "NAME   STATE\nWEB1   running\nWEB2   running\n", "\(table.all)")
        let driver = try await cli.run(["inspect", "-f", "{{.Driver.IPAddress}} {{json .Driver.SSHPort}} {{.Driver}}", "web1"])
        #expect(driver.stdoutText == "\(hosts[0].ip) 22 generic\n", "\(driver.all)")
        let upgrade = try await cli.run(["upgrade", "web1"])
        #expect(upgrade.status == 0, "\(upgrade.all)")
        #expect(upgrade.stderrText.contains("Docker"), "\(upgrade.all)")
        #expect(try await cli.run(["version", "web1"]).stdoutText.hasPrefix("20."))
        // Our drop-in gone from the host (an interrupted rm): restart and upgrade refuse at once,
        // before touching dockerd, and name the way back; provision puts it back.
        let dropIn = try await Fleet.run(hosts[0].name, "rm /etc/systemd/system/docker.service.d/10-swock-machine.conf")
        #expect(dropIn.status == 0, "\(dropIn.all)")
        for verb in ["restart", "upgrade"] {
            let refused = try await cli.run([verb, "web1"])
            Faults.expectOneError(refused, ["configuration is not on \(hosts[0].ip)", "swock-machine provision web1"])
        }
        #expect(try await state("web1") == "Running\n", "a refused restart touched dockerd")
        let provision = try await cli.run(["provision", "web1"])
        #expect(provision.status == 0, "\(provision.all)")
        #expect(try await cli.run(["restart", "web1"]).status == 0)
        #expect(try await state("web1") == "Running\n")
        // Unknown machine, exact text.
        let unknown = try await cli.run(["stop", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.stderrText == "Error: Docker machine \"nope\" does not exist; `swock-machine ls` lists the machines")
    }

    @Test func lsWithAPoweredOffHostStaysWithinItsTimeout() async throws {
        let (cli, hosts) = try await twoMachines("po")
        defer { cli.cleanup() }
        _ = hosts
        try await Fleet.poweroff("po2")
        let clock = ContinuousClock()
        let start = clock.now
        let ls = try await cli.run(["ls", "-t", "2"])
        let elapsed = clock.now - start
        #expect(ls.status == 0)
        let lines = ls.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NAME") == true)
        #expect(lines.contains { $0.hasPrefix("web1 ") && $0.contains("Running") }, "\(ls.stdoutText)")
        #expect(lines.contains { $0.hasPrefix("web2 ") && ($0.contains("Timeout") || $0.contains("Error")) }, "\(ls.stdoutText)")
        // Bounded by -t (plus process start-up), not by the dead host.
        #expect(elapsed < .seconds(5), "ls took \(elapsed)")
        // -q needs no network at all.
        #expect(try await cli.run(["ls", "-q"]).stdoutText == "web1\nweb2\n")
        // json: one object per line, every field.
        let json = try await cli.run(["ls", "--format", "json", "-t", "2"])
        for line in json.stdoutText.split(separator: "\n") {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
            #expect(Set(obj.keys) == ["Name", "Active", "DriverName", "State", "URL", "DockerVersion", "Error"])
        }
        _ = try await Fleet.up("po2", variant: "docker")
    }

    @Test func regenerateCertsKeepsContainersAndOldClients() async throws {
        let (cli, hosts) = try await twoMachines("rc")
        defer { cli.cleanup() }
        let tar = try await Fleet.busyboxTarball()
        #expect(try await cli.docker(["import", tar, "busybox:local"], machine: "web1", host: hosts[0]).status == 0)
        let run = try await cli.docker(
            ["run", "-d", "--name", "keep", "busybox:local", "sleep", "100000"], machine: "web1", host: hosts[0])
        #expect(run.status == 0, "\(run.all)")
        let oldClient = dir(cli)
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            try FileManager.default.copyItem(atPath: "\(cli.store)/machines/web1/\(f)", toPath: "\(oldClient)/\(f)")
        }
        let oldServer = try String(contentsOfFile: "\(cli.store)/machines/web1/server.pem", encoding: .utf8)
        let regen = try await cli.run(["regenerate-certs", "-f", "web1"])
        #expect(regen.status == 0, "\(regen.all)")
        #expect(try String(contentsOfFile: "\(cli.store)/machines/web1/server.pem", encoding: .utf8) != oldServer)
        let ps = try await cli.docker(["inspect", "-f", "{{.State.Running}}", "keep"], machine: "web1", host: hosts[0])
        #expect(ps.stdoutText == "true\n", "\(ps.all)")
        var old = cli.dockerEnv("web1", host: hosts[0])
        old["DOCKER_CERT_PATH"] = oldClient
        #expect(try await Subprocess.run(["docker", "version"], environment: old).status == 0)
        // With --client-certs, the old client is refused and the new one works.
        let regen2 = try await cli.run(["regenerate-certs", "-f", "--client-certs", "web1"])
        #expect(regen2.status == 0, "\(regen2.all)")
        #expect(try await Subprocess.run(["docker", "version"], environment: old).status != 0)
        #expect(
            try await cli.docker(["inspect", "-f", "{{.State.Running}}", "keep"], machine: "web1", host: hosts[0]).stdoutText == "true\n")
        // web2 keeps its own copies of the old CA: still reachable.
        #expect(try await cli.docker(["version"], machine: "web2", host: hosts[1]).status == 0)
    }

    @Test func sshPassesStatusAndStdin() async throws {
        let host = try await Fleet.up("ssh1", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        #expect(try await cli.create("box", on: host).status == 0)
        let status = try await cli.run(["ssh", "box", "--", "exit 7"])
        #expect(status.status == 7)
        let cat = try await cli.run(["ssh", "box", "--", "cat"], stdin: Data("hi\n".utf8))
        #expect(cat.stdoutText == "hi\n")
        let words = try await cli.run(["ssh", "box", "--", "printf", "%s|", "a b", "$HOME"])
        #expect(words.stdoutText == "a b|$HOME|")
        let err = try await cli.run(["ssh", "box", "--", "echo oops >&2; false"])
        #expect(err.status == 1)
        #expect(err.stderrText == "oops")
        let inspect = try await cli.run(["inspect", "box"])
        #expect(!inspect.stdoutText.contains("PRIVATE KEY"))
        #expect(try await cli.run(["inspect", "-f", "{{.Address}} {{.SSHUser}}", "box"]).stdoutText == "\(host.ip) tester\n")
        #expect(try await cli.run(["ip", "box"]).stdoutText == "\(host.ip)\n")
        let missing = try await cli.run(["ssh", "nope"])
        #expect(missing.stderrText == "Error: Docker machine \"nope\" does not exist; `swock-machine ls` lists the machines")
    }
}
