import FleetSupport
import Foundation
import SwockRemote
import SwockSupport
import Testing

@testable import SwockEngine
@testable import SwockProvision

/// The scripts that run on hosts (Sources/*/Scripts/*.sh, `RemoteScript`): values reach them as
/// positional parameters only, and what each one runs, run by a real sh against stand-ins.
@Suite struct RemoteScriptTests {
    @Test func argumentsArriveByteExactAndNeverRun() throws {
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let script = RemoteScript("echo-args", Array(#"printf '%s\0' "$0" "$@""#.utf8))
        let words = pwned.hostileWords + ["", "a'b", "'", "$(touch \(pwned.path))"]
        let r = try sh(script.command(words))
        #expect(r.status == 0, "\(r.stderrText)")
        #expect(nulFields(r.stdout) == ["swock-echo-args"] + words)
        #expect(!pwned.happened)
    }

    @Test func messagesNameTheScriptNotItsText() {
        let script = RemoteScript("demo", Array("# it's long\necho 'quoted' \"$1\"\n".utf8))
        #expect(RemoteScript.summary(of: script.command("a b", "c")) == "swock-demo 'a b' c")
        #expect(RemoteScript.summary(of: script.command()) == "swock-demo")
        #expect(RemoteScript.summary(of: "cat /etc/docker/daemon.json 2>/dev/null") == nil)
        #expect(RemoteScript.summary(of: "sh -c 'echo hi' other") == nil)
    }

    /// The scripts each target embeds are the files under Sources/TARGET/Scripts, byte for byte.
    @Test func embeddedScriptsAreTheFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        for (file, script) in [
            ("SwockEngine/Scripts/systemd.sh", SwockEngine.Scripts.systemd),
            ("SwockEngine/Scripts/engine-packages.sh", SwockEngine.Scripts.enginePackages),
            ("SwockProvision/Scripts/revoke-key.sh", SwockProvision.Scripts.revokeKey),
        ] {
            #expect(try String(contentsOfFile: root + "/Sources/" + file, encoding: .utf8) == script.text, "\(file)")
            #expect(script.text.hasPrefix("# shellcheck shell=sh\n"))
        }
    }

    /// run-provision-script.sh: the provision script comes on stdin and runs as a file of its own
    /// (its `#!` line honoured, /dev/null its stdin); its output and exit status come back, and the
    /// file is gone afterwards. The command line carries no script text.
    @Test func provisionScriptRunsFromStdinAsAFileThatGoes() throws {
        let runner = SwockProvision.Scripts.runProvisionScript
        #expect(runner.command() == ShellQuote.join(["sh", "-c", runner.text, "swock-run-provision-script"]))
        let script = "#!/bin/bash\necho \"ran $0\"\necho \"shell: ${BASH_VERSION:+bash}\"\necho \"stdin: $(cat)\"\necho oops >&2\nexit 3\n"
        let r = try Subprocess.runBlocking(["/bin/sh", "-c", runner.command()], stdin: Data(script.utf8))
        #expect(r.status == 3, "\(r.stderrText)")
        #expect(r.stderrText == "oops")
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.dropFirst() == ["shell: bash", "stdin: "], "\(lines)")
        let path = String(lines.first?.dropFirst("ran ".count) ?? "")
        #expect(path.hasPrefix("/tmp/swock-provision-script."), "\(lines)")
        #expect(!FileManager.default.fileExists(atPath: path))
        let ok = try Subprocess.runBlocking(["/bin/sh", "-c", runner.command()], stdin: Data("#!/bin/sh\necho fine\n".utf8))
        #expect(ok.status == 0 && ok.stdoutText == "fine\n", "\(ok.stderrText)")
    }

    @Test func authorizeKeyAppendsOnce() throws {
        let dir = try TempDir("authkey")
        defer { dir.remove() }
        let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0 swock-machine m1"
        for _ in 0..<2 {
            let r = try Subprocess.runBlocking(
                ["/bin/sh", "-c", SwockProvision.Scripts.authorizeKey.command()], stdin: Data(line.utf8),
                environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"])
            #expect(r.status == 0, "\(r.stderrText)")
        }
        #expect(try String(contentsOfFile: dir.sub(".ssh/authorized_keys"), encoding: .utf8) == line + "\n")
    }

    @Test func daemonJSONKeepsTheOriginalOnceAndRestoresIt() throws {
        let dir = try TempDir("djson")
        defer { dir.remove() }
        let path = dir.sub("docker/daemon.json"), backup = path + ".swock-backup", marker = path + ".swock-absent"
        func run(_ args: String...) throws {
            let r = try sh(SwockEngine.Scripts.daemonJSON.command(args))
            #expect(r.status == 0, "\(args): \(r.stderrText)")
        }
        // None there: the mark says so; restore takes ours and the mark off.
        try run("keep", "absent", path, backup, marker)
        #expect(FileManager.default.fileExists(atPath: marker) && !FileManager.default.fileExists(atPath: backup))
        try "{}".write(toFile: path, atomically: true, encoding: .utf8)
        try run("restore", path, backup, marker)
        #expect(!FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: marker))
        // The host's own: kept the first time only, put back by restore.
        try "{\"debug\": true}".write(toFile: path, atomically: true, encoding: .utf8)
        try run("keep", "existed", path, backup, marker)
        try "{\"ours\": 1}".write(toFile: path, atomically: true, encoding: .utf8)
        try run("keep", "existed", path, backup, marker)
        #expect(try String(contentsOfFile: backup, encoding: .utf8) == "{\"debug\": true}")
        try run("restore", path, backup, marker)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"debug\": true}" && !FileManager.default.fileExists(atPath: backup))
    }
}

/// A PATH of stand-ins: each fake tool logs "NAME ARGS" (and DEBIAN_FRONTEND when set) and runs
/// its body (exit 0 by default); the few real tools the scripts use besides are linked in. Nothing
/// on the real PATH is reachable, so no real systemctl, apt-get or pkill ever runs here.
struct StandIns {
    let dir: TempDir
    var log: String { dir.sub("calls") }

    init(_ label: String, fakes: [String: String]) throws {
        dir = try TempDir(label)
        for (name, body) in fakes {
            _ = try dir.script(
                "bin/\(name)",
                """
                #!/bin/sh
                echo "\(name) $*${DEBIAN_FRONTEND:+ [DEBIAN_FRONTEND=$DEBIAN_FRONTEND]}" >> \(ShellQuote.quote(log))
                \(body.isEmpty ? "exit 0" : body)
                """)
        }
        for tool in ["sh", "sleep", "seq", "dirname", "rm", "rmdir", "grep", "tail", "head", "cat", "mkdir"] where fakes[tool] == nil {
            if let real = findExecutable(tool) {
                try FileManager.default.createSymbolicLink(atPath: dir.sub("bin/\(tool)"), withDestinationPath: real)
            }
        }
        // A script just written can be "text file busy" for a moment while another test forks.
        for _ in 0..<100 where (try? Subprocess.runBlocking([dir.sub("bin/sh"), "-c", "true"]))?.status != 0 { usleep(20_000) }
    }

    /// Runs `command` (a script's command line) with only the stand-ins on PATH; returns its result
    /// and the calls it made.
    func run(_ command: String, environment: [String: String] = [:]) throws -> (Subprocess.Result, [String]) {
        try? FileManager.default.removeItem(atPath: log)
        let r = try Subprocess.runBlocking(["/bin/sh", "-c", command], environment: environment.merging(["PATH": dir.sub("bin")]) { $1 })
        let calls = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        return (r, calls)
    }
}

/// What each init system's script runs for each verb: the calls the shell snippets made before
/// they became scripts.
@Suite struct InitSystemCallTests {
    static let systemctl = """
        case "$*" in
          "cat docker.socket") [ "$HAS_SOCKET" = 1 ]; exit ;;
          "is-enabled -q docker") exit 1 ;;
        esac
        exit 0
        """
    static let launch = DaemonLaunch(dockerdPath: "/usr/sbin/dockerd", arguments: [], environment: [])

    @Test(arguments: [
        (
            "apply",
            [
                "systemctl daemon-reload", "systemctl is-enabled -q docker", "systemctl enable docker",
                "systemctl reset-failed docker.service docker.socket containerd.service", "systemctl restart docker",
            ]
        ),
        ("start", ["systemctl reset-failed docker.service", "systemctl start docker.service"]),
        ("restart", ["systemctl reset-failed docker.service", "systemctl restart docker.service"]),
        (
            "kill",
            [
                "systemctl stop docker.socket", "systemctl kill --signal=KILL docker.service", "systemctl stop docker.service",
                "systemctl reset-failed docker.service",
            ]
        ),
    ])
    func systemd(action: String, calls: [String]) throws {
        let s = try StandIns("systemd", fakes: ["systemctl": Self.systemctl])
        defer { s.dir.remove() }
        let command =
            action == "apply"
            ? InitSystem.systemd.applyConfiguration(Self.launch)
            : InitSystem.systemd.command(InitSystem.Action(rawValue: action)!, Self.launch)
        let (r, ran) = try s.run(command, environment: ["HAS_SOCKET": "1"])
        #expect(r.status == 0, "\(r.stderrText)")
        #expect(ran == calls)
    }

    /// Unconfigure recreates the socket (where there is that unit) before the stock unit starts,
    /// after our drop-in and its folder are gone.
    @Test(arguments: [true, false])
    func systemdUnconfigure(hasSocket: Bool) throws {
        let s = try StandIns("unconf", fakes: ["systemctl": Self.systemctl])
        defer { s.dir.remove() }
        #expect(
            InitSystem.systemd.unconfigure(dockerdPath: "/d")
                == SwockEngine.Scripts.systemd.command("unconfigure", InitSystem.systemdDropIn))
        let dropIn = s.dir.sub("docker.service.d/10-swock-machine.conf")
        _ = try s.dir.script("docker.service.d/10-swock-machine.conf", "[Service]\n")
        let (r, ran) = try s.run(
            SwockEngine.Scripts.systemd.command("unconfigure", dropIn), environment: ["HAS_SOCKET": hasSocket ? "1" : "0"])
        #expect(r.status == 0, "\(r.stderrText)")
        #expect(
            ran == [
                "systemctl daemon-reload", "systemctl stop docker.service", "systemctl reset-failed docker.service docker.socket",
                "systemctl cat docker.socket",
            ] + (hasSocket ? ["systemctl restart docker.socket"] : []) + ["systemctl start docker.service"])
        #expect(!FileManager.default.fileExists(atPath: s.dir.sub("docker.service.d")))
    }

    @Test(arguments: [InitSystem.openrc, .sysvinit])
    func shellInitSystems(initSystem: InitSystem) throws {
        let s = try StandIns("\(initSystem)", fakes: ["rc-update": "", "rc-service": "", "service": "", "update-rc.d": "", "pkill": ""])
        defer { s.dir.remove() }
        let tool = initSystem == .openrc ? "rc-service docker" : "service docker"
        let enable = initSystem == .openrc ? "rc-update add docker default" : "update-rc.d docker defaults"
        var expected: [(String, [String])] = [(initSystem.applyConfiguration(Self.launch), [enable, "\(tool) restart"])]
        for a in [InitSystem.Action.stop, .start, .restart] {
            expected.append((initSystem.command(a, Self.launch), ["\(tool) \(a.rawValue)"]))
        }
        expected.append((initSystem.command(.kill, Self.launch), ["pkill -KILL -x dockerd"]))
        for (command, calls) in expected {
            let (r, ran) = try s.run(command)
            #expect(r.status == 0, "\(r.stderrText)")
            #expect(ran == calls)
        }
    }
}

/// engine-packages.sh: the package manager calls per family, as the plans' commands made them.
@Suite struct EnginePackagesScriptTests {
    static let aptGet = "apt-get -o DPkg::Lock::Timeout=300"
    static let fakes = [
        "apt-get": "", "dpkg": "", "dnf": "", "yum": "", "apk": "", "rc-update": "", "zypper": "", "pacman": "", "pgrep": "exit 1",
        // present, so that Debian's install never adds apparmor, whatever this kernel enforces
        "apparmor_parser": "",
    ]
    static let frontend = " [DEBIAN_FRONTEND=noninteractive]"

    @Test(arguments: [
        (
            ["install", "debian"],
            [
                "dpkg --configure -a" + frontend,
                "\(aptGet) -o Acquire::Retries=3 install -f -y -q" + frontend,
                "\(aptGet) -o Acquire::Retries=3 update -q" + frontend,
                "\(aptGet) -o Acquire::Retries=3 install -y -q docker.io" + frontend,
            ]
        ),
        (["install", "rhel", "dnf"], ["dnf install -y moby-engine"]),
        (["install", "rhel", "yum"], ["yum install -y docker"]),
        (["install", "alpine"], ["apk add --no-cache docker", "rc-update add docker default"]),
        (["install", "suse"], ["zypper --non-interactive install docker"]),
        (["install", "arch"], ["pacman -Sy --noconfirm docker"]),
        (
            ["upgrade", "debian"],
            [
                "dpkg --configure -a" + frontend, "\(aptGet) update -q" + frontend,
                "\(aptGet) -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -q --only-upgrade docker.io"
                    + frontend,
            ]
        ),
        (["upgrade", "rhel"], ["dnf upgrade -y moby-engine docker"]),
        (["upgrade", "alpine"], ["apk upgrade --no-cache docker"]),
        (["upgrade", "suse"], ["zypper --non-interactive update docker"]),
        (["upgrade", "arch"], ["pacman -Sy --noconfirm docker"]),
        (["repair"], ["pgrep -x apt-get|apt|dpkg|unattended-upgr", "dpkg --audit"]),
    ])
    func calls(arguments: [String], calls: [String]) throws {
        let s = try StandIns("pkgs", fakes: Self.fakes)
        defer { s.dir.remove() }
        let (r, ran) = try s.run(SwockEngine.Scripts.enginePackages.command(arguments))
        #expect(r.status == 0, "\(r.stderrText)")
        #expect(ran == calls)
    }

    @Test func theirCommandLines() throws {
        #expect(EngineInstallPlan.debianRepair == SwockEngine.Scripts.enginePackages.command("repair"))
        for family in OSFamily.allCases {
            #expect(
                try EngineLifecycle.upgradeCommand(family: family, installURL: nil, install: .auto)
                    == SwockEngine.Scripts.enginePackages.command("upgrade", family.rawValue))
        }
    }

    /// dnf has no moby-engine: docker then; a repair finishes an interrupted dpkg run.
    @Test func fallbacks() throws {
        var fakes = Self.fakes
        fakes["dnf"] = #"[ "$*" = "install -y moby-engine" ] && exit 1; exit 0"#
        fakes["dpkg"] = #"[ "$1" = --audit ] && echo "half-configured: docker.io"; exit 0"#
        let s = try StandIns("pkgs2", fakes: fakes)
        defer { s.dir.remove() }
        let (r, ran) = try s.run(SwockEngine.Scripts.enginePackages.command("install", "rhel", "dnf"))
        #expect(r.status == 0 && ran == ["dnf install -y moby-engine", "dnf install -y docker"])
        let (repair, repairCalls) = try s.run(SwockEngine.Scripts.enginePackages.command("repair"))
        #expect(repair.status == 0 && repair.stdoutText == "repaired\n")
        #expect(
            repairCalls == [
                "pgrep -x apt-get|apt|dpkg|unattended-upgr", "dpkg --audit",
                "dpkg --configure -a" + Self.frontend, "\(Self.aptGet) install -f -y -q" + Self.frontend,
            ])
    }
}
