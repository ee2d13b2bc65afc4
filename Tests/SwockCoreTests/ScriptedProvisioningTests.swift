import Foundation
import SSHKit
import SwockRemote
import SwockStore
import SwockSupport
import Testing

@testable import SwockEngine
@testable import SwockProvision

/// What the provisioning steps run on a host and how they react to each failure, on a scripted
/// host (`ScriptedHost`): no root, no network, no booted host. The real-host suites
/// (CreateTests, FaultTests, HostKindsTests) prove the same paths end to end.
enum Scripted {
    static let debianRelease = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        VERSION_ID="12"
        ID=debian
        """

    /// `HostProbe.script`'s output for a host.
    static func probe(
        initSystem: String = "systemd", dockerd: String? = nil, serviceScript: String? = nil,
        release: String = debianRelease, hostname: String = "box1"
    ) -> String {
        """
        ==os-release
        \(release)
        ==hostname
        \(hostname)
        ==arch
        x86_64
        ==init
        \(initSystem)
        ==dockerd
        \(dockerd ?? "")
        ==dnf
        ==containerd
        ==service-script
        \(serviceScript ?? "")
        ==end

        """
    }

    static func isProbe(_ c: ScriptedHost.Command) -> Bool { c.text == HostProbe.command }
    static func isAptInstall(_ c: ScriptedHost.Command) -> Bool {
        c.asRoot && c.text == SwockEngine.Scripts.enginePackages.command("install", "debian")
    }

    /// A host that goes through every step up to wait-engine: dockerd installed by apt, no
    /// daemon.json, configuration applied.
    static func debianHost(initSystem: String = "systemd", serviceScript: String? = nil, apt: ScriptedHost.Reply = .ok) -> ScriptedHost {
        let h = ScriptedHost()
        h.on(
            "probe, no dockerd yet", times: 1, where: isProbe, .output(stdout: probe(initSystem: initSystem, serviceScript: serviceScript)))
        h.on("apt install", where: isAptInstall, apt)
        h.on(
            "probe, dockerd there", where: isProbe,
            .output(stdout: probe(initSystem: initSystem, dockerd: "/usr/sbin/dockerd", serviceScript: serviceScript)))
        h.on(exactly: "cat /etc/docker/daemon.json 2>/dev/null", .fails(1, stderr: ""))
        h.on(
            "keep originals",
            where: { $0.asRoot && ($0.runs(SwockEngine.Scripts.daemonJSON, "keep") || $0.runs(SwockEngine.Scripts.ownFiles, "keep")) }, .ok)
        h.on("apply", where: { $0.asRoot && $0.text.contains(InitSystem(probed: initSystem).scriptCommand("apply")) }, .ok)
        h.on(
            "daemon log", where: { $0.text == InitSystem(probed: initSystem).daemonLogCommand },
            .output(stdout: "level=error msg=\"scripted daemon log\"\n"))
        return h
    }

    final class Progress: ProvisionProgress, @unchecked Sendable {
        private let lock = NSLock()
        private var _finished: [ProvisionStep] = []
        var finished: [ProvisionStep] { lock.lock(); defer { lock.unlock() }; return _finished }
        func stepStarted(machine: String, step: ProvisionStep) {}
        func stepFinished(machine: String, step: ProvisionStep, detail: String, seconds: Double) {
            lock.lock(); defer { lock.unlock() }
            _finished.append(step)
        }
    }

    /// A provisioner on a temporary store whose hosts are `hosts`, handed out in order (one per
    /// create/provision); its daemon never answers (wait-engine ends the run within 0.3 s).
    static func provisioner(_ store: Store, _ hosts: [ScriptedHost], progress: Progress = Progress()) -> Provisioner {
        let queue = HostQueue(hosts)
        var p = Provisioner(store: store, progress: progress)
        p.engineWait = .milliseconds(300)
        p.connectNew = { _, _ in try queue.next() }
        p.connectRecord = { _ in try queue.next() }
        return p
    }

    final class HostQueue: @unchecked Sendable {
        private let lock = NSLock()
        private var hosts: [ScriptedHost]
        init(_ hosts: [ScriptedHost]) { self.hosts = hosts }
        struct NoMoreHosts: Error {}
        func next() throws -> ScriptedHost {
            lock.lock(); defer { lock.unlock() }
            guard !hosts.isEmpty else { throw NoMoreHosts() }
            return hosts.removeFirst()
        }
    }

    /// A create request for the scripted host; the engine port is one nothing listens on.
    static func request(_ name: String = "m1") -> CreateRequest {
        var r = CreateRequest(name: name, address: "127.0.0.1")
        r.engine.port = 1
        return r
    }

    static func steps(_ store: Store, _ name: String = "m1") -> [ProvisionStep] {
        (try? store.load(name).provisioning.stepsDone.map(\.step)) ?? []
    }
}

@Suite struct ProvisionStepsOnScriptedHostTests {
    @Test func createRunsEveryStepsCommandsInOrderAndStopsAtAnEngineThatNeverAnswers() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = Scripted.debianHost()
        let progress = Scripted.Progress()
        let p = Scripted.provisioner(store, [host], progress: progress)

        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request()) }
        #expect(e.step == .waitEngine && e.resumable)
        #expect(e.reason.contains("did not answer at tcp://127.0.0.1:1") && e.reason.contains("scripted daemon log"), "\(e.reason)")
        #expect(progress.finished == [.connect, .detectOS, .checkRoot, .installEngine, .installCerts, .configureEngine])
        #expect(Scripted.steps(store) == [.connect, .detectOS, .checkRoot, .installEngine, .installCerts, .configureEngine])
        let record = try store.load("m1")
        #expect(record.provisioning.phase == .failed)
        #expect(record.provisioning.lastError?.hasPrefix("wait-engine: the daemon did not answer") == true)
        #expect(record.engine.dockerdPath == "/usr/sbin/dockerd" && record.host?.initSystem == "systemd")

        // The commands, in order: probe, apt as root, probe again, daemon.json read, one install round trip.
        let ran = host.ran
        #expect(ran.first?.text == HostProbe.command && ran.first?.asRoot == false)
        let apt = try #require(ran.firstIndex(where: Scripted.isAptInstall))
        #expect(ran[apt].asRoot)
        #expect(ran[apt + 1].text == HostProbe.command)
        let read = try #require(host.index(of: "cat /etc/docker/daemon.json"))
        let apply = try #require(ran.firstIndex { $0.runs(SwockEngine.Scripts.systemd, "apply") })
        #expect(apt < read && read < apply)
        // install-certs then configure-engine: the three TLS files, then daemon.json and the drop-in.
        #expect(
            host.installed.map(\.path) == [
                "/etc/docker/swock/ca.pem", "/etc/docker/swock/server.pem", "/etc/docker/swock/server-key.pem",
                "/etc/docker/daemon.json", "/etc/systemd/system/docker.service.d/10-swock-machine.conf",
            ])
        #expect(host.installed.first { $0.path.hasSuffix("server-key.pem") }?.mode == 0o600)
        let dropIn = try #require(host.installed.last)
        #expect(String(decoding: dropIn.data, as: UTF8.self).contains("--tlsverify"))
        #expect(String(decoding: host.installed[3].data, as: UTF8.self).contains("\"live-restore\" : true"))
        #expect(host.closed)
    }

    @Test func anAptFailureIsAnInstallEngineErrorWithItsCauseRecordedAndProvisionResumesThere() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        // The cause scrolled away behind six more lines: the error still leads with it.
        let broken = Scripted.debianHost(
            apt: .output(
                stdout: "W: write error: No space left on device\n" + (1...5).map { "Unpacking p\($0) ...\n" }.joined(),
                stderr: "E: Sub-process /usr/bin/dpkg returned an error code (1)\n", status: 100))
        let fixed = Scripted.debianHost()
        let p = Scripted.provisioner(store, [broken, fixed])

        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request()) }
        #expect(e.step == .installEngine && e.resumable && e.machine == "m1")
        #expect(
            e.reason
                == "the engine install exited with status 100: W: write error: No space left on device | Unpacking p3 ... | Unpacking p4 ... | Unpacking p5 ... | E: Sub-process /usr/bin/dpkg returned an error code (1)",
            "\(e.reason)")
        #expect(e.code == "provision.step-failed")
        #expect(!e.description.contains("swock-machine provision"), "the advice is SwockCommands': \(e)")
        #expect(Scripted.steps(store) == [.connect, .detectOS, .checkRoot])
        let failed = try store.load("m1")
        #expect(failed.provisioning.phase == .failed)
        #expect(failed.provisioning.lastError?.hasPrefix("install-engine: the engine install exited with status 100") == true)
        #expect(broken.installed.isEmpty, "nothing after the failed step ran")
        #expect(broken.index(of: "cat /etc/docker/daemon.json") == nil)

        // provision: connects again and goes on from install-engine.
        let again = try await #require(throws: ProvisionError.self) { try await p.provision("m1") }
        #expect(again.step == .waitEngine && again.operation == "provision")
        #expect(fixed.ran(containing: "install -y -q \"$@\"").count == 1)  // engine-packages.sh install debian
        #expect(Scripted.steps(store) == [.connect, .detectOS, .checkRoot, .installEngine, .installCerts, .configureEngine])
        #expect(try store.load("m1").provisioning.lastError?.hasPrefix("wait-engine:") == true)
    }

    @Test func anInstallKilledBySignalSaysSo() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let p = Scripted.provisioner(store, [Scripted.debianHost(apt: .killed(signal: "KILL", stderr: "Unpacking docker.io ...\n"))])
        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request()) }
        #expect(e.step == .installEngine)
        #expect(e.reason == "the engine install was killed by SIGKILL: Unpacking docker.io ...", "\(e.reason)")
    }

    @Test func aConnectionLostMidStepFailsThatStepAndClosesTheHost() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = Scripted.debianHost()
        // configure-engine's first command: the connection drops there.
        let lost = ScriptedHost()
        lost.on("probe", times: 1, where: Scripted.isProbe, .output(stdout: Scripted.probe(dockerd: "/usr/sbin/dockerd")))
        lost.on(exactly: EngineInstallPlan.debianRepair, .ok)
        lost.dropConnection(at: "cat /etc/docker/daemon.json")
        let p = Scripted.provisioner(store, [lost, host])

        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request()) }
        #expect(e.step == .configureEngine && e.resumable)
        #expect(e.reason.contains("connection") && e.reason.contains("127.0.0.1"), "\(e.reason)")
        #expect(Scripted.steps(store) == [.connect, .detectOS, .checkRoot, .installEngine, .installCerts])
        #expect(try store.load("m1").provisioning.lastError?.hasPrefix("configure-engine:") == true)
        #expect(lost.closed)
        // dockerd was already there: no install ran (only the Debian repair check).
        #expect(!lost.ran.contains(where: Scripted.isAptInstall) && lost.ran.contains { $0.text == EngineInstallPlan.debianRepair })
    }

    @Test func aHostWithoutRootIsRefusedBeforeAnythingIsWritten() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = ScriptedHost(user: "alice", access: .failure(SSHError.sudoNotAllowed(user: "alice", host: "127.0.0.1")))
        host.on("probe", where: Scripted.isProbe, .output(stdout: Scripted.probe()))
        let p = Scripted.provisioner(store, [host])

        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request()) }
        #expect(e.step == .checkRoot && !e.resumable)
        #expect(!store.exists("m1"))
        #expect(host.ran.map(\.text) == [HostProbe.command])
        #expect(host.closed)
    }

    @Test func aFleetFileKeepsAFailedRecordForAPreCreateFailureButNotForBadFlags() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = ScriptedHost(access: .failure(SSHError.sudoNotAllowed(user: "root", host: "127.0.0.1")))
        host.on("probe", where: Scripted.isProbe, .output(stdout: Scripted.probe()))
        let p = Scripted.provisioner(store, [host])

        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request(), keepRecordOnEarlyFailure: true) }
        #expect(e.step == .checkRoot && e.resumable)
        #expect(try store.load("m1").provisioning.lastError?.hasPrefix("check-root: ") == true)
        #expect(try store.load("m1").provisioning.failedStep == .checkRoot)

        var bad = Scripted.request("m2")
        bad.sshPort = 70000
        let flags = try await #require(throws: ProvisionError.self) { try await p.create(bad, keepRecordOnEarlyFailure: true) }
        #expect(flags.step == .checkFlags && !flags.resumable)
        #expect(flags.cause as? CreateProblem == .sshPortOutOfRange(70000))
        #expect(flags.reason == "SSH port 70000 is out of range 1-65535")
        #expect(!store.exists("m2"))
    }

    @Test func aHostWithNoKnownPackageManagerIsRefusedAtDetectOS() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = ScriptedHost()
        host.on("probe", where: Scripted.isProbe, .output(stdout: Scripted.probe(release: "ID=plan9\nPRETTY_NAME=\"Plan 9\"")))
        let p = Scripted.provisioner(store, [host])
        let e = try await #require(throws: ProvisionError.self) { try await p.create(Scripted.request()) }
        #expect(e.step == .detectOS && !e.resumable)
        #expect(!store.exists("m1"))
        #expect(host.ran.allSatisfy { !$0.asRoot }, "nothing ran as root")
    }

    @Test func aPasswordOnlyHostGetsTheGeneratedKeyOverStdin() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = Scripted.debianHost()
        host.on("authorized_keys", where: { !$0.asRoot && $0.runs(SwockProvision.Scripts.authorizeKey) }, .ok)
        let p = Scripted.provisioner(store, [host])
        var req = Scripted.request()
        req.sshPassword = "pw-never-on-a-command-line"
        _ = try await #require(throws: ProvisionError.self) { try await p.create(req) }
        let add = try #require(host.ran(containing: "authorized_keys").first)
        let key = String(decoding: add.stdin ?? Data(), as: UTF8.self)
        #expect(key.hasPrefix("ssh-ed25519 ") && key.hasSuffix(" swock-machine m1"))
        #expect(!host.ran.contains { $0.text.contains("pw-never") })
        #expect(Scripted.steps(store).prefix(4) == [.connect, .detectOS, .checkRoot, .installSSHKey])
        #expect(try store.load("m1").ssh.keyPath == Store.generatedKeyPath("m1"))
    }

    @Test func anInvalidHostnameFailsSetHostnameWithoutRunningAnything() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let host = Scripted.debianHost()
        let p = Scripted.provisioner(store, [host])
        var req = Scripted.request()
        req.hostname = "bad name;reboot"
        let e = try await #require(throws: ProvisionError.self) { try await p.create(req) }
        #expect(e.step == .setHostname && e.machine == "m1")
        #expect(!host.ran.contains { $0.text.contains("hostname") && $0.asRoot })
        #expect(try store.load("m1").provisioning.lastError?.hasPrefix("set-hostname:") == true)
    }
}

/// configure-engine on each init system: which file, which apply command, and a daemon that
/// does not come up.
@Suite struct ConfigureEngineOnScriptedHostTests {
    static func config(_ initSystem: String) -> MachineConfig {
        var c = sampleConfig("m1", address: "127.0.0.1")
        c.host?.initSystem = initSystem
        return c
    }

    static func probe(_ initSystem: String, serviceScript: String? = nil) -> HostProbe {
        HostProbe.parse(Scripted.probe(initSystem: initSystem, dockerd: "/usr/sbin/dockerd", serviceScript: serviceScript))
    }

    @Test(
        arguments: [
            ("systemd", nil, "/etc/systemd/system/docker.service.d/10-swock-machine.conf"),
            ("sysvinit", nil, "/etc/default/docker"),
            ("openrc", "openrc-run", "/etc/conf.d/docker"),
            ("openrc", "lsb", "/etc/default/docker"),
        ] as [(String, String?, String)])
    func installsTheInitSystemsFileAndRestartsOnce(initSystem: String, serviceScript: String?, path: String) async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let host = Scripted.debianHost(initSystem: initSystem, serviceScript: serviceScript)
        let p = Provisioner(store: Store(root: dir.path), progress: Scripted.Progress())
        let detail = try await p.configureEngine(
            config: Self.config(initSystem), probe: Self.probe(initSystem, serviceScript: serviceScript), ssh: host)
        #expect(host.installed.map(\.path) == ["/etc/docker/daemon.json", path])
        #expect(detail.contains(path))
        let file = String(decoding: host.installed[1].data, as: UTF8.self)
        #expect(file.hasPrefix(InitSystem.ownHeader))
        #expect(file.contains(initSystem == "systemd" ? "ExecStart=" : "DOCKER_OPTS="))
        // The host's own file is kept first (before), then one restart (then).
        let before = try #require(host.index(of: ".swock-backup"))
        // What apply runs on each init system (one restart): InitSystemCallTests runs it against stand-ins.
        let applyCommand = InitSystem(probed: initSystem).scriptCommand("apply")
        let apply = host.ran.filter { $0.text.contains(applyCommand) }
        #expect(apply.count == 1 && apply[0].asRoot)
        #expect(before < (host.ran.firstIndex { $0.text.contains(applyCommand) } ?? -1))
    }

    @Test func aDaemonThatDoesNotStartIsAConfigureEngineErrorWithItsLog() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let host = ScriptedHost()
        host.on(exactly: "cat /etc/docker/daemon.json 2>/dev/null", .output(stdout: "{\"hosts\": [\"fd://\"], \"live-restore\": false}"))
        host.on("keep", where: { $0.text.contains(".swock-backup") }, .ok)
        host.on("apply", where: { $0.runs(SwockEngine.Scripts.systemd, "apply") }, .fails(1, stderr: "Job for docker.service failed"))
        host.on(
            "log", where: { $0.text == InitSystem.systemd.daemonLogCommand }, .output(stdout: "unable to configure the Docker daemon\n"))
        let p = Provisioner(store: Store(root: dir.path), progress: Scripted.Progress())
        let e = try await #require(throws: ProvisionError.self) {
            try await p.configureEngine(config: Self.config("systemd"), probe: Self.probe("systemd"), ssh: host)
        }
        #expect(e.step == .configureEngine)
        #expect(e.reason == "dockerd did not start with the new configuration; daemon log: unable to configure the Docker daemon")
        // daemon.json's conflicting "hosts" moved out, live-restore as the host had it.
        let json = String(decoding: host.installed[0].data, as: UTF8.self)
        #expect(!json.contains("hosts") && json.contains("\"live-restore\" : false"))
    }
}

/// rm: what it runs, in which order, and what a failure does to the record.
@Suite struct RemoverOnScriptedHostTests {
    static func store(_ dir: TempDir, initSystem: String = "sysvinit") throws -> Store {
        let store = Store(root: dir.path)
        var c = sampleConfig("m1", address: "127.0.0.1")
        c.host?.initSystem = initSystem
        try store.reserve(c)
        // The key create generated (sampleConfig's auth mode): rm takes it off the host last.
        let key = try SSHKeyGenerator.generateEd25519(comment: "swock-machine")
        let keyPath = store.resolve(try #require(c.ssh.keyPath))
        #expect(
            FileManager.default.createFile(atPath: keyPath, contents: Data(key.privateKey.utf8), attributes: [.posixPermissions: 0o600]))
        return store
    }

    /// The base64 blob of m1's generated key: what the revocation gets on stdin.
    static func keyBlob(_ store: Store) throws -> Data {
        let line = try SSHKeyGenerator.publicKeyLine(privateKeyPath: store.resolve(try store.load("m1").ssh.keyPath!), comment: "")
        return Data(line.split(separator: " ")[1].utf8)
    }

    @Test(arguments: ["systemd", "sysvinit", "openrc"])
    func unconfiguresInOrderThenWaitsForTheUnixSocket(initSystem: String) async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = try Self.store(dir, initSystem: initSystem)
        let host = ScriptedHost()
        let unconfigure = InitSystem(probed: initSystem).unconfigure(dockerdPath: "/usr/sbin/dockerd")
        host.on("unconfigure", where: { $0.asRoot && $0.text.contains("rm -rf /etc/docker/swock") }, .ok)
        host.on("unix socket", where: { $0.asRoot && $0.text == InitSystem.unixSocketAnswers(within: 60) }, .ok)
        host.on("revoke the generated key", where: { !$0.asRoot && $0.text == Remover.revokeKeyCommand }, .ok)
        let blob = try Self.keyBlob(store)
        var r = Remover(store: store)
        r.connectRecord = { _ in host }
        #expect(try await r.remove("m1", force: false) == nil)
        #expect(!store.exists("m1"))
        #expect(host.ran.count == 3 && host.closed)
        // Last, as the login user, the key's blob on stdin (never on a command line).
        #expect(host.ran[2].text == Remover.revokeKeyCommand && host.ran[2].stdin == blob && !host.ran[2].asRoot)
        let cmd = host.ran[0].text
        let certs = try #require(cmd.range(of: "rm -rf /etc/docker/swock"))
        let daemonJSON = try #require(cmd.range(of: DaemonJSON.restoreCommand))
        let initFiles = try #require(cmd.range(of: unconfigure))
        #expect(certs.upperBound <= daemonJSON.lowerBound && daemonJSON.upperBound <= initFiles.lowerBound)
        #expect(host.ran[1].text == InitSystem.unixSocketAnswers(within: 60))
    }

    @Test func aHostThatCannotBeCleanedKeepsTheRecordUnlessForced() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = try Self.store(dir)
        let host = ScriptedHost()
        host.dropConnection(at: "rm -rf /etc/docker/swock")
        var r = Remover(store: store)
        r.connectRecord = { _ in host }
        let e = try await #require(throws: Remover.RemoteCleanupFailed.self) { try await r.remove("m1", force: false) }
        #expect(e.reason.contains("connection"))
        #expect(store.exists("m1"))
        #expect(host.closed)

        let warning = try await r.remove("m1", force: true)
        #expect(warning?.hasPrefix("the host 127.0.0.1 was not cleaned") == true)
        #expect(!store.exists("m1"))
    }

    @Test func aDaemonThatDoesNotComeBackOnItsSocketFailsRmWithItsLog() async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let store = try Self.store(dir)
        let host = ScriptedHost()
        host.on("unconfigure", where: { $0.text.contains("rm -rf /etc/docker/swock") }, .ok)
        host.on("unix socket", where: { $0.text == InitSystem.unixSocketAnswers(within: 60) }, .fails(1, stderr: ""))
        host.on("log", where: { $0.text == InitSystem.sysvinit.daemonLogCommand }, .output(stdout: "failed to start daemon\n"))
        var r = Remover(store: store)
        r.connectRecord = { _ in host }
        let e = try await #require(throws: Remover.RemoteCleanupFailed.self) { try await r.remove("m1", force: false) }
        #expect(e.reason.contains("did not answer on its unix socket") && e.reason.contains("failed to start daemon"), "\(e.reason)")
        #expect(store.exists("m1"))
    }
}

/// stop/kill/start per init system, and a start refused when our configuration is gone.
@Suite struct EngineLifecycleOnScriptedHostTests {
    static func config(_ initSystem: String) -> MachineConfig {
        var c = sampleConfig("m1", address: "127.0.0.1")
        c.host?.initSystem = initSystem
        return c
    }

    @Test(arguments: ["systemd", "sysvinit", "openrc"])
    func stopAndKillRunTheInitSystemsCommandAsRoot(initSystem: String) async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let config = Self.config(initSystem)
        let i = InitSystem(probed: initSystem)
        let host = ScriptedHost()
        host.on(exactly: i.command(.stop, DaemonLaunch(config)), .ok)
        host.on(exactly: i.command(.kill, DaemonLaunch(config)), .ok)
        let l = EngineLifecycle(store: Store(root: dir.path))
        #expect(try await l.perform(.stop, config: config, ssh: host) == "engine stopped")
        #expect(try await l.perform(.kill, config: config, ssh: host) == "dockerd killed")
        #expect(host.ran.map(\.asRoot) == [true, true])
    }

    @Test(arguments: ["systemd", "sysvinit", "openrc"])
    func startWithoutOurConfigurationIsRefusedBeforeAnythingRestarts(initSystem: String) async throws {
        let dir = try TempDir("scripted")
        defer { dir.remove() }
        let config = Self.config(initSystem)
        let i = InitSystem(probed: initSystem)
        let check = try #require(i.ownConfigurationCheck)
        let host = ScriptedHost()
        host.on(
            "check, then start",
            where: { $0.text == EngineLifecycle.afterConfigurationCheck(check, i.command(.start, DaemonLaunch(config))) },
            .output(stdout: InitSystem.missingConfigurationMark + "\n", status: 3))
        let e = try await #require(throws: EngineLifecycle.NotConfigured.self) {
            try await EngineLifecycle(store: Store(root: dir.path)).perform(.start, config: config, ssh: host)
        }
        #expect(e == EngineLifecycle.NotConfigured(machine: "m1", host: "127.0.0.1"))
        #expect(host.ran.count == 1)
    }
}

/// Swarm's one host-side decision: live-restore off in daemon.json (and a reload), only when on.
@Suite struct SwarmLiveRestoreOnScriptedHostTests {
    @Test func switchesLiveRestoreOffKeepingTheOriginalAndReloads() async throws {
        let host = ScriptedHost()
        host.on(exactly: "cat /etc/docker/daemon.json 2>/dev/null", .output(stdout: "{\"live-restore\": true, \"debug\": true}"))
        host.on(
            "keep",
            where: {
                $0.runs(
                    SwockEngine.Scripts.daemonJSON, "keep", "existed", "/etc/docker/daemon.json", "/etc/docker/daemon.json.swock-backup")
            }, .ok)
        host.on(exactly: DaemonJSON.reloadCommand, .ok)
        try await DaemonJSON.setLiveRestore(false, ssh: host)
        #expect(host.installed.map(\.path) == ["/etc/docker/daemon.json"])
        let json = String(decoding: host.installed[0].data, as: UTF8.self)
        #expect(json.contains("\"live-restore\" : false") && json.contains("\"debug\" : true"))
    }

    @Test func leavesAHostWithLiveRestoreOffAlone() async throws {
        let host = ScriptedHost()
        host.on(exactly: "cat /etc/docker/daemon.json 2>/dev/null", .output(stdout: "{\"live-restore\": false}"))
        try await DaemonJSON.setLiveRestore(false, ssh: host)
        #expect(host.installed.isEmpty && host.ran.count == 1)
    }

    @Test func aDaemonThatIsNotRunningCannotReload() async throws {
        let host = ScriptedHost()
        host.on(exactly: "cat /etc/docker/daemon.json 2>/dev/null", .fails(1, stderr: ""))
        host.on("keep", where: { $0.runs(SwockEngine.Scripts.daemonJSON, "keep", "absent") }, .ok)
        host.on(exactly: DaemonJSON.reloadCommand, .fails(1, stderr: ""))
        let e = try await #require(throws: SSHError.self) { try await DaemonJSON.setLiveRestore(false, ssh: host) }
        #expect("\(e)".contains("dockerd is not running"))
    }
}
