import FleetSupport
import Foundation
import SSHKit
import SwockStore
import SwockSupport
import Testing

@testable import SwockEngine

/// The sh texts the renderer produces, run by a real /bin/sh: hostile words arrive byte-exact
/// and never execute.
@Suite struct ShellRenderTests {
    @Test func shellConfLayout() {
        let conf = EngineConfigRenderer.shellConf(
            variable: "DOCKER_OPTS", arguments: ["-H", "tcp://0.0.0.0:2376", "--tlsverify"],
            environment: ["HTTP_PROXY=http://p:3128", "A=b c"])
        #expect(
            conf == """
                # Written by swock-machine; removed by `swock-machine rm`.
                export HTTP_PROXY=http://p:3128
                export 'A=b c'
                DOCKER_OPTS='-H tcp://0.0.0.0:2376 --tlsverify'

                """)
    }

    @Test func shellConfSourcedBySh() throws {
        let dir = try TempDir("conf")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let args = pwned.hostileWords
        let env = pwned.hostileWords.enumerated().map { "SWOCK_V\($0.offset)=\($0.element)" }
        let conf = EngineConfigRenderer.shellConf(variable: "DOCKER_OPTS", arguments: args, environment: env)
        let path = dir.sub("docker conf")
        try conf.write(toFile: path, atomically: true, encoding: .utf8)
        // Source it as an init script would, then print what it set.
        let r = try sh(#". "$1" && printf '%s\0' "$DOCKER_OPTS" && env -0"#, [path])
        #expect(r.status == 0, "\(r.stderrText)")
        let fields = nulFields(r.stdout)
        #expect(fields.first == args.joined(separator: " "))
        let exported = envDict(fields.dropFirst())
        for (i, w) in pwned.hostileWords.enumerated() {
            #expect(exported["SWOCK_V\(i)"] == w, "\(w.debugDescription)")
        }
        #expect(!pwned.happened)
    }

    /// InitSystem.none's start with a fake dockerd that records argv and environment. The fixed pid and
    /// log paths are swapped for temp ones; the rest of the text runs as generated.
    @Test func detachedStartRunsBySh() throws {
        let dir = try TempDir("detached")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let out = dir.sub("argv")
        let dockerd = try dir.script(
            "bin dir/it's dockerd $(x)",
            """
            #!/bin/sh
            { printf '%s\\0' "$0" "$@"; printf '==env\\0'; env -0; } > \(ShellQuote.quote(out + ".tmp"))
            mv \(ShellQuote.quote(out + ".tmp")) \(ShellQuote.quote(out))
            exec sleep 30
            """)
        let args = pwned.hostileWords
        let env = ["SWOCK_A=x y $(touch \(pwned.path))", "SWOCK_B=q\"r\\s\nt'`id`", "SWOCK_C="]
        let pid = dir.sub("dockerd.pid"), log = dir.sub("dockerd.log")
        var text = InitSystem.none.command(.start, DaemonLaunch(dockerdPath: dockerd, arguments: args, environment: env))
        #expect(text.contains(InitSystem.pidFile) && text.contains(InitSystem.logFile))
        text = text.replacingOccurrences(of: InitSystem.pidFile, with: ShellQuote.quote(pid))
            .replacingOccurrences(of: InitSystem.logFile, with: ShellQuote.quote(log))

        let started = Date()
        let r = try runLeavingChildren(["/bin/sh", "-c", text], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 5, "the start returns at once")
        defer {
            if let p = try? String(contentsOfFile: pid, encoding: .utf8), let n = Int32(p.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(n, SIGTERM)
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: out) && Date() < deadline { usleep(20_000) }
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let fields = nulFields(data)
        let split = try #require(fields.firstIndex(of: "==env"))
        #expect(Array(fields[..<split]) == [dockerd] + args)
        let seen = envDict(fields[(split + 1)...])
        for e in env {
            let eq = e.firstIndex(of: "=")!
            #expect(seen[String(e[..<eq])] == String(e[e.index(after: eq)...]), "\(e.debugDescription)")
        }
        // The pid file names the process that is running it, detached in its own session.
        let recorded = try String(contentsOfFile: pid, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let n = try #require(Int32(recorded))
        #expect(kill(n, 0) == 0)
        #expect(!pwned.happened)

        // Running it again stops the old one first (the pid file's process goes away).
        try? FileManager.default.removeItem(atPath: out)
        let again = try runLeavingChildren(["/bin/sh", "-c", text], in: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(kill(n, 0) != 0 || Self.isZombie(n), "the previous dockerd was stopped")
        let second = try String(contentsOfFile: pid, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(second != recorded)
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return s.split(separator: ")").last?.split(separator: " ").first == "Z"
    }
}

/// On OpenRC and sysvinit hosts dockerd's flags reach it through a shell: docker.io's LSB script
/// expands DOCKER_OPTS unquoted (split and globbed), and a native OpenRC script's
/// start-stop-daemon evaluates it. The machine's labels, registries and storage driver (which
/// may hold anything) go to daemon.json there, so that what the shell gets is the same words in
/// both, and nothing runs.
@Suite struct ShellInitOptionsTests {
    /// A sysvinit/OpenRC machine whose labels, registries and storage driver are hostile words.
    static func hostileConfig(_ pwned: Pwned, initSystem: String) -> MachineConfig {
        var c = sampleConfig(
            "m", labels: Dictionary(uniqueKeysWithValues: pwned.hostileWords.enumerated().map { ("k\($0.offset)", $0.element) }))
        c.host?.initSystem = initSystem
        c.engine.options = ["dns=10.0.0.2", "log-opt=max-size=10m"]
        c.engine.labels = ["x=$(touch \(pwned.path))", "sp=a b \"c\" 'd'"]
        c.engine.insecureRegistries = ["reg local:5000 $(touch \(pwned.path))"]
        c.engine.registryMirrors = ["https://m.example/`touch \(pwned.path)`"]
        c.engine.storageDriver = "overlay2 ; touch \(pwned.path)"
        return c
    }

    @Test(arguments: ["sysvinit", "openrc"])
    func theShellGetsOnlySafeWordsAndNothingRuns(initSystem: String) throws {
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let dir = try TempDir("opts")
        defer { dir.remove() }
        let config = Self.hostileConfig(pwned, initSystem: initSystem)
        let launch = DaemonLaunch(config)
        let conf = try #require(config.initSystem.configFile(launch))
        let path = dir.sub("docker")
        try conf.write(toFile: path, atomically: true, encoding: .utf8)
        // As docker.io's LSB script passes them ($DOCKER_OPTS unquoted), and as OpenRC's
        // start-stop-daemon does (eval), from a directory with files a glob would match.
        let lsb = try sh(#"cd "$2" && . "$1" && set -- $DOCKER_OPTS && printf '%s\0' "$@""#, [path, dir.path])
        let openrc = try sh(#"cd "$2" && . "$1" && eval "set -- $DOCKER_OPTS" && printf '%s\0' "$@""#, [path, dir.path])
        #expect(lsb.status == 0 && openrc.status == 0, "\(lsb.stderrText) \(openrc.stderrText)")
        #expect(nulFields(lsb.stdout) == launch.arguments, "the LSB script's shell changed the flags")
        #expect(nulFields(openrc.stdout) == launch.arguments, "OpenRC's eval changed the flags")
        #expect(!pwned.happened, "a word ran as a command")
        // The settings are in daemon.json, verbatim.
        let settings = EngineConfigRenderer.daemonJSONSettings(engine: config.engine, machineLabels: config.labels)
        let labels = try #require(settings["labels"] as? [String])
        #expect(labels.prefix(2) == ["x=$(touch \(pwned.path))", "sp=a b \"c\" 'd'"])
        #expect(Set(labels.dropFirst(2)) == Set(pwned.hostileWords.enumerated().map { "k\($0.offset)=\($0.element)" }))
        #expect(settings["insecure-registries"] as? [String] == config.engine.insecureRegistries)
        #expect(settings["registry-mirrors"] as? [String] == config.engine.registryMirrors)
        #expect(settings["storage-driver"] as? String == config.engine.storageDriver)
        #expect(
            !launch.arguments.contains {
                $0.hasPrefix("--label") || $0.hasPrefix("--insecure-registry") || $0.hasPrefix("--registry-mirror")
                    || $0.hasPrefix("--storage-driver")
            })
        #expect(EngineConfigRenderer.firstShellUnsafeArgument(launch.arguments) == nil)
    }

    /// systemd quotes every word itself (and no init system: we quote): flags as before.
    @Test func systemdAndNoInitKeepTheFlags() {
        let pwned = Pwned()
        for i in ["systemd", "none"] {
            let launch = DaemonLaunch(Self.hostileConfig(pwned, initSystem: i))
            #expect(launch.arguments.contains("--label=x=$(touch \(pwned.path))"), "\(i)")
            #expect(launch.arguments.contains("--storage-driver=overlay2 ; touch \(pwned.path)"), "\(i)")
        }
    }

    @Test func shellUnsafeWords() {
        #expect(
            EngineConfigRenderer.firstShellUnsafeArgument([
                "--dns=10.0.0.2", "--log-opt=max-size=10m", "--default-ulimit=nofile=1024:2048",
                "--bip=172.17.0.1/16", "--data-root=/srv/docker", "--debug", "--x=a,b@c+d%e",
            ]) == nil)
        let pwned = Pwned()
        for w in pwned.hostileWords where w != "-" && !w.isEmpty {
            #expect(EngineConfigRenderer.firstShellUnsafeArgument(["--ok", "--x=\(w)"]) == "--x=\(w)", "\(w.debugDescription)")
        }
    }

    @Test func daemonJSONTakesTheSettingsReplacingTheHostsValues() throws {
        let settings: [String: Any] = ["labels": ["a=b c"], "storage-driver": "overlay2"]
        let plan = try DaemonJSON.plan(
            existed: true, object: ["labels": ["host=own"], "debug": true, "live-restore": true], settings: settings)
        let file = try #require(plan.file)
        let object = try #require(try JSONSerialization.jsonObject(with: file.data) as? [String: Any])
        #expect(
            object["labels"] as? [String] == ["a=b c"] && object["storage-driver"] as? String == "overlay2"
                && object["debug"] as? Bool == true)
        #expect(plan.note.contains("labels, storage-driver in /etc/docker/daemon.json"), "\(plan.note)")
        // Already so: nothing to write.
        let same = try DaemonJSON.plan(existed: true, object: object, settings: settings)
        #expect(same.file == nil)
    }
}
