import Foundation
import SwockSupport
import Testing

@testable import SwockEngine

@Suite struct InitSystemTests {
    @Test func probedNames() {
        #expect(InitSystem(probed: "systemd") == .systemd)
        #expect(InitSystem(probed: "openrc") == .openrc)
        #expect(InitSystem(probed: "sysvinit") == .sysvinit)
        #expect(InitSystem(probed: "none") == .none)
        #expect(InitSystem(probed: "runit") == .none)
        #expect(InitSystem(probed: nil) == .systemd, "records from before the probe")
    }

    @Test func configFilesByInitSystem() {
        let launch = DaemonLaunch(dockerdPath: "/usr/bin/dockerd", arguments: ["-H", "tcp://0.0.0.0:2376"], environment: ["A=b"])
        #expect(InitSystem.systemd.configFile(launch)?.contains(#"ExecStart="/usr/bin/dockerd" "-H" "tcp://0.0.0.0:2376""#) == true)
        #expect(InitSystem.openrc.configPath(serviceScript: .openrcRun) == "/etc/conf.d/docker")
        #expect(InitSystem.openrc.configPath(serviceScript: nil) == "/etc/conf.d/docker")
        #expect(InitSystem.sysvinit.configPath(serviceScript: .lsb) == "/etc/default/docker")
        #expect(InitSystem.openrc.configFile(launch)?.contains("DOCKER_OPTS='-H tcp://0.0.0.0:2376'") == true)
        #expect(InitSystem.none.configPath(serviceScript: nil) == nil && InitSystem.none.configFile(launch) == nil)
        for i in InitSystem.allCases where i != .none {
            #expect(i.configFile(launch)?.hasPrefix(InitSystem.ownHeader + "\n") == true, "\(i): rm finds its file by the header")
        }
    }

    /// Debian's docker.io ships only an LSB script, which Debian's OpenRC runs as it is: that
    /// script reads /etc/default/docker, never /etc/conf.d/docker.
    @Test func openrcRunningDebiansLSBScriptReadsEtcDefault() {
        #expect(InitSystem.openrc.configPath(serviceScript: .lsb) == "/etc/default/docker")
        #expect(InitSystem.openrc.configDescription(serviceScript: .lsb).contains("/etc/default/docker"))
        #expect(InitSystem.ServiceScript(probed: "lsb") == .lsb)
        #expect(InitSystem.ServiceScript(probed: "openrc-run") == .openrcRun)
        #expect(InitSystem.ServiceScript(probed: nil) == nil)
        #expect(InitSystem.ServiceScript(probed: "upstart") == nil)
    }

    /// /etc/default/docker is docker.io's conffile: ours replaces it until rm, which puts it
    /// back (and takes off only a file that is ours).
    @Test func shellConfFilesKeepTheHostsOwnAndRmPutsItBack() throws {
        #expect(InitSystem.systemd.keepOriginalCommand(at: "/x") == nil)
        #expect(InitSystem.none.keepOriginalCommand(at: "/x") == nil)
        let dir = NSTemporaryDirectory() + "swock-initsys-keep-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/docker", other = dir + "/other"
        let stock = "# stock conffile\nDOCKER_OPTS=\n"
        let ours = InitSystem.sysvinit.configFile(DaemonLaunch(dockerdPath: "/d", arguments: ["-H", "x"], environment: []))!
        try stock.write(toFile: path, atomically: true, encoding: .utf8)
        try "# someone else's\n".write(toFile: other, atomically: true, encoding: .utf8)
        func sh(_ c: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", c]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(c)")
        }
        let keep = try #require(InitSystem.sysvinit.keepOriginalCommand(at: path))
        try sh(keep)
        try ours.write(toFile: path, atomically: true, encoding: .utf8)
        try sh(keep)  // again (provision re-run): the kept one is still the host's own
        #expect(try String(contentsOfFile: path + ".swock-backup", encoding: .utf8) == stock)
        try sh(InitSystem.removeOwnFiles([path, other]))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == stock)
        #expect(!FileManager.default.fileExists(atPath: path + ".swock-backup"))
        #expect(try String(contentsOfFile: other, encoding: .utf8) == "# someone else's\n", "not ours: untouched")
        // No file of the host's own: ours just goes.
        try ours.write(toFile: path, atomically: true, encoding: .utf8)
        try sh(InitSystem.removeOwnFiles([path]))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// upgrade on Debian keeps our /etc/default/docker (a conffile of docker.io) without asking.
    @Test func debianUpgradeKeepsOurConffile() throws {
        // What engine-packages.sh runs for it (--force-confold, --force-confdef): EnginePackagesScriptTests.
        let c = try EngineLifecycle.upgradeCommand(family: .debian, installURL: nil, install: .auto)
        #expect(c == Scripts.enginePackages.command("upgrade", "debian"))
        #expect(
            Scripts.enginePackages.text.contains(
                "--force-confdef -o Dpkg::Options::=--force-confold install -y -q --only-upgrade docker.io"))
    }

    /// Only a file of ours goes (own-files.sh remove, run for real in
    /// `shellConfFilesKeepTheHostsOwnAndRmPutsItBack`), then the restart (`InitSystemCallTests`).
    @Test func unconfigureTakesOurFileOffAndRestarts() {
        let sysv = InitSystem.sysvinit.unconfigure(dockerdPath: "/usr/sbin/dockerd")
        #expect(sysv == InitSystem.removeOwnFiles(["/etc/default/docker"]) + "; " + Scripts.service.command("sysvinit", "restart"))
        let openrc = InitSystem.openrc.unconfigure(dockerdPath: "/usr/sbin/dockerd")
        #expect(
            openrc == InitSystem.removeOwnFiles(["/etc/default/docker", "/etc/conf.d/docker"]) + "; "
                + Scripts.service.command("openrc", "restart"))
    }

    /// Without an init system every verb goes through the pid file (no-init.sh; run for real in
    /// `ShellRenderTests.detachedStartRunsBySh`).
    @Test func noInitVerbsUseThePidFile() {
        let launch = DaemonLaunch(dockerdPath: "/d", arguments: ["-H", "x"], environment: ["A=b"])
        let pid = InitSystem.pidFile, log = InitSystem.logFile
        #expect(InitSystem.none.command(.stop, launch) == Scripts.noInit.command("stop", pid))
        #expect(InitSystem.none.command(.kill, launch) == Scripts.noInit.command("kill", pid))
        #expect(InitSystem.none.command(.restart, launch) == Scripts.noInit.command("restart", pid, log, "A=b", "/d", "-H", "x"))
        #expect(InitSystem.none.applyConfiguration(launch) == InitSystem.none.command(.restart, launch))
        #expect(InitSystem.none.unconfigure(dockerdPath: "/d") == Scripts.noInit.command("unconfigure", pid, log, "/d"))
    }

    /// The unix-socket wait, run by sh with a stand-in `docker` first on PATH.
    @Test(arguments: [(0, true), (1, false)])
    func unixSocketWait(dockerExit: Int, answers: Bool) throws {
        let dir = NSTemporaryDirectory() + "swock-initsys-\(getpid())-\(dockerExit)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "#!/bin/sh\nexit \(dockerExit)\n".write(toFile: dir + "/docker", atomically: true, encoding: .utf8)
        chmod(dir + "/docker", 0o755)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", InitSystem.unixSocketAnswers(within: 1)]
        p.environment = ["PATH": dir + ":/usr/bin:/bin"]
        try p.run()
        p.waitUntilExit()
        #expect((p.terminationStatus == 0) == answers)
    }
}

/// `ownConfigurationCheck`, run by a real shell against files in a scratch root.
struct OwnConfigurationCheckTests {
    /// Runs the check with every path under /etc moved under `root` (no spaces in it: the
    /// paths may stand unquoted).
    static func run(_ check: String, root: String) throws -> (status: Int32, out: String) {
        let local = check.replacingOccurrences(of: "/etc/", with: "\(root)/etc/")
        let r = try sh(local)
        return (r.status, r.stdoutText)
    }

    @Test(arguments: [InitSystem.systemd, .openrc, .sysvinit])
    func passesOnlyWithOurHeaderInPlace(initSystem: InitSystem) throws {
        let root = "/tmp/swock-owncheck-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let check = try #require(initSystem.ownConfigurationCheck)
        #expect(try Self.run(check, root: root) == (3, InitSystem.missingConfigurationMark + "\n"))
        for path in initSystem.ownConfigurationCandidates {
            let file = root + path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "DOCKER_OPTS=\"--debug\"\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try Self.run(check, root: root).status == 3, "a file of the host's own is not ours: \(path)")
            try (InitSystem.ownHeader + "\nDOCKER_OPTS=\"--tlsverify\"\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try Self.run(check, root: root) == (0, ""), "\(path) starts with our header")
            try FileManager.default.removeItem(atPath: file)
        }
    }

    @Test func noInitSystemHasNothingToCheck() {
        #expect(InitSystem.none.ownConfigurationCheck == nil)
    }
}

/// systemd's stop, against a stand-in `systemctl` that logs its calls: the socket unit is
/// stopped with the service where there is one (docker.io), left out where there is none
/// (Docker's static binaries with our own docker.service).
struct SystemdStopTests {
    @Test(arguments: [true, false])
    func stopsTheSocketOnlyWhereThereIsOne(hasSocket: Bool) throws {
        let dir = try TempDir("stop")
        defer { dir.remove() }
        let log = dir.sub("calls")
        try dir.script(
            "bin/systemctl",
            """
            #!/bin/sh
            echo "$*" >> '\(log)'
            if [ "$1" = cat ] && [ "$2" = docker.socket ]; then [ "$HAS_SOCKET" = 1 ]; exit; fi
            if [ "$1" = stop ] && [ "$HAS_SOCKET" != 1 ] && echo "$*" | grep -q docker.socket; then echo "Unit docker.socket not loaded." >&2; exit 5; fi
            exit 0
            """)
        try FileManager.default.createSymbolicLink(
            atPath: dir.sub("bin/grep"), withDestinationPath: findExecutable("grep") ?? "/usr/bin/grep")
        // The command runs its script with `sh -c`.
        try FileManager.default.createSymbolicLink(atPath: dir.sub("bin/sh"), withDestinationPath: "/bin/sh")
        // Only the stand-in on PATH (never the real systemctl), and it runs before the test does:
        // a script just written can be "text file busy" for a moment while another test forks.
        let env = ["PATH": dir.sub("bin"), "HAS_SOCKET": hasSocket ? "1" : "0"]
        for _ in 0..<100 where (try? sh("systemctl is-probe", environment: env))?.status != 0 { usleep(20_000) }
        try? FileManager.default.removeItem(atPath: log)
        let command = InitSystem.systemd.command(.stop, DaemonLaunch(dockerdPath: "/usr/bin/dockerd", arguments: [], environment: []))
        let r = try sh(command, environment: env)
        #expect(r.status == 0, "\(r.stderrText)")
        let calls = try String(contentsOfFile: log, encoding: .utf8)
        #expect(
            calls == (hasSocket ? "cat docker.socket\nstop docker.socket docker.service\n" : "cat docker.socket\nstop docker.service\n"))
    }
}
