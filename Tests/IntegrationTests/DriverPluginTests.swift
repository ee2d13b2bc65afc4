import FleetSupport
import Foundation
import Testing

/// `create -d fixture` through the built binary, with a Docker Machine driver plugin written in
/// Go (Tests/Fixtures/plugin, standard library only) on PATH: its Create "makes" a fleet host by
/// returning that host's address, so the one provisioning path runs against a real host.
@Suite(.serialized) struct DriverPluginTests {
    let pluginDir: String
    let log: String

    init() throws {
        pluginDir = try GoFixture.pluginDirectory()
        log = NSTemporaryDirectory() + "p-fixture-log-\(UUID().uuidString.prefix(8))"
    }

    var env: [String: String] {
        ["PATH": pluginDir + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "FIXTURE_LOG": log]
    }

    func calls() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Fixture plugin processes still running.
    func pluginsRunning() -> Int {
        let binary = pluginDir + "/docker-machine-driver-fixture"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { e in
            Int32(e) != nil && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(e)/exe")) == binary
        }.count
    }

    @Test(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
    func createLsStopStartRmThroughThePlugin() async throws {
        let host = try await Fleet.fresh("p-plug")
        let cli = CLI()
        defer { cli.cleanup() }

        let help = try await cli.run(["create", "-d", "fixture", "--help"], env: env)
        #expect(help.status == 0, "\(help.all)")
        #expect(help.stdoutText.contains("--fixture-host <string>"), "\(help.stdoutText)")
        #expect(help.stdoutText.contains("--fixture-tag <string> (repeatable)"))

        let r = try await cli.run(
            [
                "create", "-d", "fixture", "--fixture-host", host.ip, "--fixture-ssh-user", host.user,
                "--fixture-ssh-key", host.keyPath, "--fixture-tag", "e2e", "p1",
            ], env: env)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("wait-engine: Docker"), "\(r.stderrText)")
        let c = try cli.config("p1")
        #expect(c["driver"] as? String == "fixture")
        let raw = c["driverOptions"] as? [String: Any]
        #expect(raw?["MachineName"] as? String == "p1")
        #expect(raw?["IPAddress"] as? String == host.ip)
        #expect(raw?["Tags"] as? [String] == ["e2e"])
        #expect(c["address"] as? String == host.ip)

        let v = try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "p1", host: host)
        #expect(v.status == 0, "\(v.all)")

        func state() async throws -> String {
            let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}"], env: env)
            #expect(ls.status == 0, "\(ls.all)")
            return ls.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try await state() == "p1 fixture Running")
        let stop = try await cli.run(["stop", "p1"], env: env)
        #expect(stop.status == 0, "\(stop.all)")
        #expect(try await state() == "p1 fixture Stopped")
        let start = try await cli.run(["start", "p1"], env: env)
        #expect(start.status == 0, "\(start.all)")
        #expect(try await state() == "p1 fixture Running")

        let rm = try await cli.run(["rm", "-y", "p1"], env: env)
        #expect(rm.status == 0, "\(rm.all)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/p1"))
        let log = calls()
        for m in [
            "GetVersion", "SetConfigRaw", "GetCreateFlags", "SetConfigFromFlags", "PreCreateCheck", "Create",
            "GetConfigRaw", "GetSSHHostname", "GetSSHPort", "GetSSHUsername", "GetSSHKeyPath", "GetIP", "GetState",
            "Stop", "Start", "Remove", "Close",
        ] {
            #expect(log.contains(m), "\(m) never called: \(log)")
        }
        // Every plugin started was closed.
        #expect(log.filter { $0 == "GetVersion" }.count == log.filter { $0 == "Close" }.count, "\(log)")
        #expect(pluginsRunning() == 0)
    }

    @Test func aPluginNotOnPathIsOneLineNamingWhatAndWhere() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.run(["create", "-d", "nosuch", "x1"], env: ["PATH": "/nowhere:" + pluginDir])
        #expect(r.status != 0)
        #expect(r.stderrText.split(separator: "\n").count == 1, "\(r.stderrText)")
        #expect(r.stderrText.contains("docker-machine-driver-nosuch"), "\(r.stderrText)")
        #expect(r.stderrText.contains("/nowhere:" + pluginDir), "\(r.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x1"))
    }

    @Test func aFlagThePluginDoesNotDeclareIsOneLine() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await cli.run(["create", "-d", "fixture", "--fixture-host", "10.231.255.254", "--bogus", "1", "x2"], env: env)
        #expect(r.status != 0)
        #expect(r.stderrText.split(separator: "\n").count == 1, "\(r.stderrText)")
        #expect(r.stderrText.contains("--bogus is not a flag of the fixture driver; its flags are: "), "\(r.stderrText)")
        #expect(r.stderrText.contains("--fixture-host"))
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x2"))
        #expect(pluginsRunning() == 0)
    }

    @Test func anotherAPIVersionIsOneLine() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        var e = env
        e["FIXTURE_API_VERSION"] = "2"
        let r = try await cli.run(["create", "-d", "fixture", "--fixture-host", "10.231.255.254", "x3"], env: e)
        #expect(r.status != 0)
        #expect(r.stderrText.split(separator: "\n").count == 1, "\(r.stderrText)")
        #expect(r.stderrText.contains("speaks plugin API version 2; swock-machine speaks version 1"), "\(r.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x3"))
        #expect(pluginsRunning() == 0)
    }

    /// The record of a create that did not finish: unfinished at create-host, with the
    /// plugin's configuration, and ls saying what to do.
    func expectUnfinished(_ cli: CLI, _ name: String, fail: String) async throws {
        let c = try cli.config(name)
        #expect(c["driver"] as? String == "fixture")
        let p = c["provisioning"] as? [String: Any]
        #expect(p?["phase"] as? String == "failed" && p?["failedStep"] as? String == "create-host", "\(c)")
        let raw = c["driverOptions"] as? [String: Any]
        #expect(raw?["MachineName"] as? String == name && raw?["Fail"] as? String == fail, "\(c)")
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"], env: env)
        #expect(ls.status == 0, "\(ls.all)")
        #expect(
            ls.stdoutText.contains(
                "\(name) Error the fixture driver's create did not finish; run `swock-machine provision \(name)` to retry, or `swock-machine rm -f \(name)` to drop it"
            ), "\(ls.stdoutText)")
    }

    /// A plugin that crashes in Create: one line, the record kept unfinished (with the host key
    /// fingerprint create was given), no plugin left; `provision` through a working plugin
    /// creates the host (a fleet host), checks its key against that fingerprint and provisions it.
    @Test(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
    func aPluginThatCrashesInCreateLeavesAnUnfinishedRecordThatProvisionCompletes() async throws {
        let host = try await Fleet.fresh("pg-crash")
        let cli = CLI()
        defer { cli.cleanup() }
        // The host's keys, read out of band.
        let pub = try await Fleet.run("pg-crash", "for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf $k; done")
        let fingerprints = pub.stdoutText.split(separator: "\n").compactMap { $0.split(separator: " ").first { $0.hasPrefix("SHA256:") } }
            .map(String.init)
        try #require(!fingerprints.isEmpty, "\(pub.all)")
        let r = try await cli.run(
            [
                "create", "-d", "fixture", "--fixture-host", host.ip, "--fixture-ssh-user", host.user,
                "--fixture-ssh-key", host.keyPath, "--fixture-fail", "crash",
            ] + fingerprints.flatMap { ["--ssh-host-key-fingerprint", $0] } + ["x4"], env: env)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderrText.split(separator: "\n").count == 1, "\(r.stderrText)")
        #expect(
            r.stderrText.contains(
                "create x4: the fixture driver plugin exited during Create (it said: fixture: crashing in Create as asked); the fixture driver may have made the host, so the record is kept as unfinished; run `swock-machine provision x4` to retry, or `swock-machine rm -f x4` to drop it"
            ), "\(r.stderrText)")
        #expect(pluginsRunning() == 0)
        try await expectUnfinished(cli, "x4", fail: "crash")
        let unfinished = try cli.config("x4")
        #expect((unfinished["ssh"] as? [String: Any])?["expectedHostKeys"] as? [String] == fingerprints, "\(unfinished)")

        var working = env
        working["FIXTURE_FAIL"] = "none"
        let p = try await cli.run(["provision", "x4"], env: working)
        #expect(p.status == 0, "\(p.all)")
        let c = try cli.config("x4")
        #expect(c["address"] as? String == host.ip)
        #expect((c["provisioning"] as? [String: Any])?["phase"] as? String == "ready", "\(c)")
        #expect(fingerprints.contains { p.all.contains("host key \($0)") }, "\(p.all)")
        let v = try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "x4", host: host)
        #expect(v.status == 0, "\(v.all)")
        let rm = try await cli.run(["rm", "-y", "x4"], env: env)
        #expect(rm.status == 0, "\(rm.all)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x4"))
        #expect(pluginsRunning() == 0)
    }

    /// A plugin that hangs in Create is killed after the timeout; the record is kept unfinished;
    /// `rm` asks the plugin to Remove (one that crashes there keeps the record and says so), and
    /// `rm -f` drops the record saying what may be left.
    @Test func aPluginThatHangsInCreateIsKilledAndRmForceDropsItsRecord() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        var e = env
        e["SWOCK_MACHINE_PLUGIN_TIMEOUT"] = "3"
        let r = try await cli.run(["create", "-d", "fixture", "--fixture-host", "10.231.255.254", "--fixture-fail", "hang", "x5"], env: e)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderrText.split(separator: "\n").count == 1, "\(r.stderrText)")
        #expect(r.stderrText.contains("the fixture driver did not finish Create within 3 s; the plugin was killed"), "\(r.stderrText)")
        #expect(
            r.stderrText.contains("run `swock-machine provision x5` to retry, or `swock-machine rm -f x5` to drop it"), "\(r.stderrText)")
        #expect(pluginsRunning() == 0)
        try await expectUnfinished(cli, "x5", fail: "hang")

        var crashing = env
        crashing["FIXTURE_FAIL_REMOVE"] = "crash"
        let rm = try await cli.run(["rm", "-y", "x5"], env: crashing)
        #expect(rm.status == 1, "\(rm.all)")
        #expect(rm.stderrText.contains("the fixture driver could not remove the host"), "\(rm.stderrText)")
        #expect(rm.stderrText.contains("the record is kept"), "\(rm.stderrText)")
        #expect(FileManager.default.fileExists(atPath: cli.store + "/machines/x5/config.json"))
        let force = try await cli.run(["rm", "-f", "-y", "x5"], env: crashing)
        #expect(force.status == 0, "\(force.all)")
        #expect(force.stderrText.contains("the fixture driver did not remove the host it may have made"), "\(force.stderrText)")
        #expect(force.stderrText.contains("\"MachineName\":\"x5\""), "\(force.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x5"))
        #expect(pluginsRunning() == 0)
    }
}
