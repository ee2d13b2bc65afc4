import FleetSupport
import Foundation
import Testing

// MARK: - Shared by FaultTests, HostileInputTests and SecretsTests

/// What every failure case checks: one `Error:` line naming the cause and the next step, a
/// non-zero exit, a store that is still valid, no secret left in a temp file or in `--debug`
/// output, and a remote that a re-run fixes.
enum Faults {
    /// How long a create or a command may take to notice that the network is gone.
    ///
    /// Every blocking libssh wait after connecting is bounded by the session I/O timeout
    /// (`SSHOptions.ioTimeout`, 60 s). A peer that went silent can only be noticed through a
    /// missing answer, so one I/O timeout is the natural bound; 15 s more cover a keepalive
    /// interval, process start-up and a loaded test machine.
    static let netCutBound: Duration = .seconds(75)

    /// A scratch store (path with a space, see `CLI`) plus a private TMPDIR for the commands, so
    /// that a `swock-create-*` staging dir left behind by *this* test's commands can be seen.
    struct Rig: Sendable {
        let cli = CLI()
        let tmp: String

        init() throws {
            tmp = NSTemporaryDirectory() + "ft-tmp-" + UUID().uuidString.prefix(8)
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        }

        var store: String { cli.store }

        func run(_ args: [String], env extra: [String: String] = [:]) async throws -> Subprocess.Result {
            try await cli.run(args, env: ["TMPDIR": tmp].merging(extra) { _, new in new })
        }

        /// `create --debug` for a fleet host, with the fleet's client key.
        func createArgs(_ name: String, on host: FleetHost, user: String? = nil, extra: [String] = []) -> [String] {
            ["create", "--debug", "--driver", "generic", "--generic-ip-address", host.ip,
             "--generic-ssh-user", user ?? host.user, "--generic-ssh-key", host.keyPath] + extra + [name]
        }

        func create(_ name: String, on host: FleetHost, user: String? = nil, extra: [String] = []) async throws -> Subprocess.Result {
            try await run(createArgs(name, on: host, user: user, extra: extra))
        }

        /// The binary started in the background (to be cut off, or watched, while it runs).
        func background(_ args: [String], env extra: [String: String] = [:]) throws -> Background {
            var env = ProcessInfo.processInfo.environment
            env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
            env["DOCKER_CONFIG"] = cli.dockerConfig
            env["TMPDIR"] = tmp
            env.removeValue(forKey: "DOCKER_HOST")
            for (k, v) in extra { env[k] = v }
            return try Background([CLI.binary] + args, environment: env)
        }

        func config(_ name: String) -> [String: Any]? { try? cli.config(name) }

        func phase(_ name: String) -> String? {
            (config(name)?["provisioning"] as? [String: Any])?["phase"] as? String
        }

        func stepsDone(_ name: String) -> [String] {
            ((config(name)?["provisioning"] as? [String: Any])?["stepsDone"] as? [[String: Any]])?.compactMap { $0["step"] as? String } ?? []
        }

        func lastError(_ name: String) -> String {
            (config(name)?["provisioning"] as? [String: Any])?["lastError"] as? String ?? ""
        }

        func cleanup() {
            cli.cleanup()
            try? FileManager.default.removeItem(atPath: tmp)
        }
    }

    // MARK: Errors

    static func expectOneError(_ r: Subprocess.Result, _ needles: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        expectOneError(status: r.status, stderr: r.stderrText, needles, sourceLocation: sourceLocation)
    }

    /// A non-zero exit and exactly one `Error:` line, the last line of stderr (so the message did
    /// not spill over several lines), containing every needle.
    static func expectOneError(status: Int32, stderr: String, _ needles: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status != 0, "expected a failure, got status 0: \(stderr.suffix(3000))", sourceLocation: sourceLocation)
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let errors = lines.filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1, "expected exactly one Error: line in: \(stderr.suffix(3000))", sourceLocation: sourceLocation)
        #expect(lines.last?.hasPrefix("Error:") == true, "the Error: line is not the last line of stderr: \(stderr.suffix(3000))", sourceLocation: sourceLocation)
        let line = errors.first ?? ""
        for n in needles {
            #expect(line.contains(n), "expected \"\(n)\" in: \(line)", sourceLocation: sourceLocation)
        }
    }

    static func errorLine(_ r: Subprocess.Result) -> String {
        errorLine(r.stderrText)
    }

    static func errorLine(_ stderr: String) -> String {
        stderr.split(separator: "\n").map(String.init).first { $0.hasPrefix("Error:") } ?? ""
    }

    // MARK: The store

    /// Every config.json parses; every machine's server.pem and cert.pem verify against the
    /// store's CA (a ready machine must have both); no half-written temp file, no half-removed
    /// machine directory.
    static func expectStoreValid(_ store: String, skipping: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let fm = FileManager.default
        if let e = fm.enumerator(atPath: store) {
            while let rel = e.nextObject() as? String {
                let base = (rel as NSString).lastPathComponent
                #expect(!base.contains(".tmp-") && !base.hasPrefix(".removing-"), "leftover in the store: \(rel)", sourceLocation: sourceLocation)
            }
        }
        let machines = ((try? fm.contentsOfDirectory(atPath: store + "/machines")) ?? [])
            .filter { !$0.hasPrefix(".") && !skipping.contains($0) }.sorted()
        for m in machines {
            let dir = store + "/machines/" + m
            let object = fm.contents(atPath: dir + "/config.json").flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]
            #expect(object != nil, "machines/\(m)/config.json does not parse", sourceLocation: sourceLocation)
            let ready = ((object?["provisioning"] as? [String: Any])?["phase"] as? String) == "ready"
            for cert in ["server.pem", "cert.pem"] {
                guard fm.fileExists(atPath: dir + "/" + cert) else {
                    #expect(!ready, "machine \(m) is ready but has no \(cert)", sourceLocation: sourceLocation)
                    continue
                }
                let v = try await Subprocess.run(["openssl", "verify", "-CAfile", store + "/certs/ca.pem", dir + "/" + cert])
                #expect(v.status == 0, "\(m)/\(cert): \(v.all)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The command's private TMPDIR is empty again (no `swock-create-*` staging dir).
    static func expectTmpClean(_ rig: Rig, sourceLocation: SourceLocation = #_sourceLocation) {
        let left = (try? FileManager.default.contentsOfDirectory(atPath: rig.tmp)) ?? []
        #expect(left.isEmpty, "left in TMPDIR: \(left)", sourceLocation: sourceLocation)
    }

    // MARK: Secrets

    /// The base64 lines of every private key under the store (and of `extraKeys`): any of them
    /// showing up in output means key material leaked.
    static func keyLines(store: String, extraKeys: [String] = []) -> [String] {
        var files = extraKeys
        if let e = FileManager.default.enumerator(atPath: store) {
            while let rel = e.nextObject() as? String {
                let path = store + "/" + rel
                if let d = FileManager.default.contents(atPath: path), String(decoding: d, as: UTF8.self).contains("PRIVATE KEY") {
                    files.append(path)
                }
            }
        }
        var lines: Set<String> = []
        for f in files {
            guard let d = FileManager.default.contents(atPath: f) else { continue }
            for l in String(decoding: d, as: UTF8.self).split(separator: "\n") where !l.hasPrefix("-----") && l.count >= 16 {
                lines.insert(String(l))
            }
        }
        return lines.sorted()
    }

    static func expectNoKeyMaterial(_ text: String, _ keyLines: [String], in what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!keyLines.isEmpty, "no key material to look for", sourceLocation: sourceLocation)
        #expect(!text.contains("PRIVATE KEY"), "\(what) shows a PEM private key", sourceLocation: sourceLocation)
        let leaked = keyLines.filter { text.contains($0) }
        #expect(leaked.isEmpty, "\(what) holds \(leaked.count) line(s) of key material, e.g. \(leaked.first.map { String($0.prefix(10)) + "..." } ?? "")",
                sourceLocation: sourceLocation)
    }

    // MARK: The host

    /// No staging dir of `installAsRoot` and no SFTP upload temp left on the host.
    static func expectHostClean(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let r = try await Fleet.run(name, """
            ls -d /tmp/swock.* 2>/dev/null; \
            find /etc/docker /etc/systemd/system \\( -name '.*.swock-*' -o -name '*.swock-new' \\) 2>/dev/null; true
            """)
        #expect(r.stdoutText.isEmpty, "left on \(name): \(r.stdoutText)", sourceLocation: sourceLocation)
    }

    /// After a connection was cut mid-command nobody could clean up on the host; whatever is
    /// left must at least hold no private key.
    static func expectNoKeyLeftOnHost(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let r = try await Fleet.run(name, """
            grep -rl 'PRIVATE KEY' /tmp/swock.* 2>/dev/null; \
            find /etc/docker /etc/systemd/system \\( -name '.*.swock-*' -o -name '*.swock-new' \\) -exec grep -l 'PRIVATE KEY' {} + 2>/dev/null; true
            """)
        #expect(r.stdoutText.isEmpty, "a private key was left in a temp file on \(name): \(r.stdoutText)", sourceLocation: sourceLocation)
    }

    /// Polls a shell condition on the host (as root) until it holds.
    static func waitOnHost(_ name: String, _ condition: String, timeout: Duration, while alive: @Sendable () -> Bool = { true }) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && alive() {
            let r = try await Fleet.run(name, "if \(condition); then echo yes; fi")
            if r.stdoutText.contains("yes") { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Runs `action` on the host (as root) the moment `condition` holds, polling every 20 ms for
    /// up to `seconds`; its output ends with `fired` when it ran. Returns once the watcher runs.
    static func arm(_ name: String, when condition: String, do action: String, seconds: Int = 180) async throws -> Task<Subprocess.Result, Error> {
        let marker = "/run/ft-armed-\(UUID().uuidString.prefix(8))"
        let task = Task {
            try await Fleet.run(name, """
                touch \(marker); i=0
                while ! { \(condition); }; do i=$((i+1)); [ $i -gt \(seconds * 50) ] && { echo watcher-timeout; exit 1; }; sleep 0.02; done
                \(action); echo fired
                """)
        }
        _ = try await waitOnHost(name, "test -e \(marker)", timeout: .seconds(30))
        return task
    }

    /// The docker CLI reaches the machine over mutual TLS.
    static func expectDockerWorks(_ rig: Rig, _ machine: String, _ host: FleetHost, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let v = try await rig.cli.docker(["version", "--format", "{{.Server.Version}}"], machine: machine, host: host)
        #expect(v.status == 0 && !v.stdoutText.isEmpty, "docker against \(machine): \(v.all)", sourceLocation: sourceLocation)
    }

    /// Everything a successful re-run must leave: ready record, valid store, docker works, no
    /// staging left locally, no key in the debug output.
    static func expectRerunFixed(_ r: Subprocess.Result, _ rig: Rig, _ machine: String, _ host: FleetHost,
                                 sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(r.status == 0, "the re-run did not complete: \(r.stderrText.suffix(3000))", sourceLocation: sourceLocation)
        #expect(rig.phase(machine) == "ready", sourceLocation: sourceLocation)
        try await expectStoreValid(rig.store, sourceLocation: sourceLocation)
        try await expectDockerWorks(rig, machine, host, sourceLocation: sourceLocation)
        expectTmpClean(rig, sourceLocation: sourceLocation)
        expectNoKeyMaterial(r.stderrText + r.stdoutText, keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output", sourceLocation: sourceLocation)
    }
}

/// A `swock-machine` run in the background, so that a test can cut it off or act while it runs.
final class Background: @unchecked Sendable {
    let process = Process()
    let outPath: String
    let errPath: String

    init(_ argv: [String], environment: [String: String]) throws {
        let id = UUID().uuidString.prefix(8)
        outPath = NSTemporaryDirectory() + "ft-bg-\(id).out"
        errPath = NSTemporaryDirectory() + "ft-bg-\(id).err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        // Spawned from a thread that blocks no signal: the test runner's threads block them all,
        // and a child inherits its spawning thread's mask.
        final class Box: @unchecked Sendable { var error: Error? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let p = process
        Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try p.run() } catch { box.error = error }
            done.signal()
        }.start()
        done.wait()
        if let e = box.error { throw e }
    }

    var isRunning: Bool { process.isRunning }

    /// Waits until the process exits or `limit` passes; true when it exited.
    func wait(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var status: Int32 { process.terminationStatus }
    var stdoutText: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderrText: String { ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
}

/// A flag one task sets and another polls.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
    func raise() { lock.lock(); set = true; lock.unlock() }
}

/// Results collected by a background loop.
final class ResultLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(String, Subprocess.Result)] = []
    func append(_ what: String, _ r: Subprocess.Result) { lock.lock(); items.append((what, r)); lock.unlock() }
    var all: [(String, Subprocess.Result)] { lock.lock(); defer { lock.unlock() }; return items }
}

// MARK: - FaultTests

/// Faults on real hosts during create and afterwards: sshd going away, the network cut, a daemon
/// that will not start, a changed host key, a full disk, a read-only /etc, a broken store, and
/// many commands at once on one store.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct FaultTests {
    /// While apt-get installs on the host (anchored: the `sudo sh -c` wrapper and our own watcher
    /// carry the words in their command lines too).
    static let aptInstalling = "pgrep -f '^apt-get .* install' >/dev/null"

    // MARK: sshd

    @Test func sshdDownAtConnectThenKilledDuringInstall() async throws {
        let name = "ft-sshi"
        let host = try await Fleet.fresh(name)
        let rig = try Faults.Rig()
        defer { rig.cleanup() }

        // sshd not running at all: refused at connect, and the store is exactly as it was.
        try await Fleet.run(name, "systemctl stop ssh")
        let before = rig.cli.snapshot()
        let refused = try await rig.create("m", on: host)
        Faults.expectOneError(refused, ["create m: connect failed", host.ip, "port 22", "sshd is running"])
        #expect(Faults.errorLine(refused).lowercased().contains("connection refused"), "\(Faults.errorLine(refused))")
        #expect(rig.cli.snapshot() == before, "a refused create changed the store")
        Faults.expectTmpClean(rig)

        // sshd back, then killed (listener and the sessions) while apt-get installs docker.io.
        try await Fleet.run(name, "systemctl start ssh")
        let killer = try await Faults.arm(name, when: Self.aptInstalling, do: "sleep 1; systemctl stop ssh; pkill -KILL -x sshd")
        let cut = try await rig.create("m", on: host)
        let fired = try await killer.value
        #expect(fired.stdoutText.contains("fired"), "the install was not caught: \(fired.all)")
        Faults.expectOneError(cut, ["create m: install-engine failed", host.ip, "provision m"])
        let line = Faults.errorLine(cut)
        #expect(["disconnected", "connection", "closed"].contains { line.contains($0) }, "the cause is not named: \(line)")
        #expect(rig.phase("m") == "failed")
        #expect(!rig.stepsDone("m").contains("install-engine"))
        #expect(rig.lastError("m").hasPrefix("install-engine:"), "\(rig.lastError("m"))")
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        Faults.expectNoKeyMaterial(cut.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")
        let env = try await rig.run(["env", "m"])
        Faults.expectOneError(env, ["not fully provisioned", "provision m"])

        // sshd back: the re-run waits for the orphaned apt (dpkg lock) and completes.
        try await Fleet.run(name, "systemctl start ssh")
        let fixed = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(fixed, rig, "m", host)
        try await Faults.expectHostClean(name)
    }

    @Test func sshdKilledDuringConfigureIsResumedByProvision() async throws {
        let name = "ft-sshc"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        // configure-engine's first change on a stock docker host is the marker that there was
        // no daemon.json: install-certs is done by then, configure has begun.
        let killer = try await Faults.arm(name, when: "test -e /etc/docker/daemon.json.swock-absent",
                                          do: "systemctl stop ssh; pkill -KILL -x sshd")
        let cut = try await rig.create("m", on: host)
        let fired = try await killer.value
        #expect(fired.stdoutText.contains("fired"), "configure was not caught: \(fired.all)")
        Faults.expectOneError(cut, ["create m: configure-engine failed", host.ip, "provision m"])
        let line = Faults.errorLine(cut)
        #expect(["disconnected", "connection", "closed"].contains { line.contains($0) }, "the cause is not named: \(line)")
        #expect(rig.phase("m") == "failed")
        #expect(rig.stepsDone("m").contains("install-certs"))
        #expect(!rig.stepsDone("m").contains("configure-engine"))
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        Faults.expectNoKeyMaterial(cut.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")
        try await Faults.expectNoKeyLeftOnHost(name)

        try await Fleet.run(name, "systemctl start ssh")
        let fixed = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(fixed, rig, "m", host)
        // A staging dir of the command that was cut off may stay (nobody could remove it; the
        // kill usually lands before the next mktemp), but never with a key in it.
        try await Faults.expectNoKeyLeftOnHost(name)
    }

    /// `systemctl stop ssh` alone stops the listener only (Debian's ssh.service has
    /// KillMode=process): the running create keeps its session and completes; the next command
    /// is refused with a clear error until sshd is back.
    @Test func sshListenerStoppedMidCreateLeavesTheSessionRunning() async throws {
        let name = "ft-sshl"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let stopper = try await Faults.arm(name, when: "test -e /etc/docker/daemon.json.swock-absent", do: "systemctl stop ssh")
        let r = try await rig.create("m", on: host)
        let fired = try await stopper.value
        #expect(fired.stdoutText.contains("fired"), "\(fired.all)")
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        #expect(rig.phase("m") == "ready")
        try await Faults.expectDockerWorks(rig, "m", host)

        let refused = try await rig.run(["ssh", "m", "--", "true"])
        Faults.expectOneError(refused, [host.ip, "port 22", "sshd is running"])
        try await Fleet.run(name, "systemctl start ssh")
        let again = try await rig.run(["ssh", "m", "--", "true"])
        #expect(again.status == 0, "\(again.all)")
        try await Faults.expectStoreValid(rig.store)
        try await Faults.expectHostClean(name)
    }

    // MARK: The network

    @Test func networkCutDuringInstallEndsWithinTheBound() async throws {
        let name = "ft-neti"
        let host = try await Fleet.fresh(name)
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let create = try rig.background(rig.createArgs("m", on: host))
        defer { create.cleanup() }
        let installing = try await Faults.waitOnHost(name, Self.aptInstalling, timeout: .seconds(120), while: { create.isRunning })
        #expect(installing, "the install never ran: \(create.stderrText.suffix(2000))")
        guard installing else { create.kill(); return }

        try await Fleet.net(name, up: false)
        let ended = await create.wait(upTo: Faults.netCutBound)
        #expect(ended, "create was still running \(Faults.netCutBound) after the network was cut")
        if ended {
            Faults.expectOneError(status: create.status, stderr: create.stderrText, ["create m: install-engine failed", host.ip, "provision m"])
            Faults.expectTmpClean(rig)
            #expect(rig.phase("m") == "failed")
        } else {
            create.kill()
            // Killed: its staging dir may stay, but never with a key in it.
            let left = FileManager.default.enumerator(atPath: rig.tmp)?.allObjects.compactMap { $0 as? String } ?? []
            #expect(left.allSatisfy { $0.hasPrefix("swock-create-m-") && !$0.contains("/") }, "files left in TMPDIR by the killed create: \(left)")
            try? FileManager.default.removeItem(atPath: rig.tmp)
            try FileManager.default.createDirectory(atPath: rig.tmp, withIntermediateDirectories: true)
        }
        try await Faults.expectStoreValid(rig.store)
        #expect(rig.phase("m") != "ready")
        Faults.expectNoKeyMaterial(create.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")

        try await Fleet.net(name, up: true)
        let fixed = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(fixed, rig, "m", host)
        try await Faults.expectHostClean(name)
    }

    @Test func networkCutDuringAnSSHCommandEndsWithinTheBound() async throws {
        let name = "ft-netc"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let created = try await rig.create("m", on: host)
        #expect(created.status == 0, "\(created.stderrText.suffix(3000))")
        Faults.expectNoKeyMaterial(created.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")

        let ssh = try rig.background(["ssh", "m", "--", "sleep 30; echo finished"])
        defer { ssh.cleanup() }
        let sleeping = try await Faults.waitOnHost(name, "pgrep -f '^sleep 30' >/dev/null", timeout: .seconds(20), while: { ssh.isRunning })
        #expect(sleeping, "the remote command never started: \(ssh.stderrText)")
        try await Fleet.net(name, up: false)
        let ended = await ssh.wait(upTo: Faults.netCutBound)
        #expect(ended, "`ssh m -- sleep 30` was still running \(Faults.netCutBound) after the network was cut")
        if ended {
            Faults.expectOneError(status: ssh.status, stderr: ssh.stderrText, [host.ip])
            #expect(!ssh.stdoutText.contains("finished"))
        } else {
            ssh.kill()
        }

        try await Fleet.net(name, up: true)
        let back = try await rig.run(["ssh", "m", "--", "echo back"])
        #expect(back.status == 0 && back.stdoutText == "back\n", "\(back.all)")
        let fixed = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(fixed, rig, "m", host)
        try await Faults.expectHostClean(name)
    }

    // MARK: The daemon

    @Test func dockerdThatWillNotStartIsReportedWithItsOwnLog() async throws {
        let name = "ft-dcrash"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let r = try await rig.create("m", on: host, extra: ["--engine-opt", "no-such-flag=1"])
        Faults.expectOneError(r, ["create m:", "provision m"])
        let line = Faults.errorLine(r)
        #expect(line.contains("configure-engine failed") || line.contains("wait-engine failed"), "\(line)")
        #expect(line.contains("unknown flag"), "dockerd's own words are missing: \(line)")
        #expect(rig.phase("m") == "failed")
        #expect(rig.lastError("m").hasPrefix("configure-engine:") || rig.lastError("m").hasPrefix("wait-engine:"), "\(rig.lastError("m"))")
        let options = (rig.config("m")?["engine"] as? [String: Any])?["options"] as? [String]
        #expect(options == ["no-such-flag=1"], "the option is in the record: \(String(describing: options))")
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        Faults.expectNoKeyMaterial(r.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")
        try await Faults.expectHostClean(name)
        let env = try await rig.run(["env", "m"])
        Faults.expectOneError(env, ["not fully provisioned", "provision m"])

        // rm -f takes our drop-in off the host and dockerd comes back on its unix socket.
        let rm = try await rig.run(["rm", "-y", "-f", "m"])
        #expect(rm.status == 0, "\(rm.all)")
        #expect(!FileManager.default.fileExists(atPath: rig.store + "/machines/m"))
        let after = try await Fleet.run(name, """
            test -e /etc/systemd/system/docker.service.d/10-swock-machine.conf && echo dropin-left; \
            test -e /etc/docker/swock && echo certs-left; \
            for i in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done; \
            docker version --format 'unix-ok {{.Server.Version}}'
            """)
        #expect(!after.stdoutText.contains("left"), "\(after.stdoutText)")
        #expect(after.stdoutText.contains("unix-ok"), "\(after.all)")
        try await Faults.expectStoreValid(rig.store)
    }

    // MARK: Host key

    @Test func changedHostKeyIsRefusedNamingBothFingerprints() async throws {
        let name = "ft-hkey"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let created = try await rig.create("m", on: host)
        #expect(created.status == 0, "\(created.stderrText.suffix(3000))")
        Faults.expectNoKeyMaterial(created.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")
        #expect(try await rig.run(["ssh", "m", "--", "true"]).status == 0)
        let knownHosts = rig.store + "/machines/m/known_hosts"
        let pinnedText = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let pinned = try await Subprocess.run(["ssh-keygen", "-lf", knownHosts])
        let pinnedFP = pinned.stdoutText.split(separator: " ").map(String.init).first { $0.hasPrefix("SHA256:") } ?? "?"

        let regen = try await Fleet.run(name, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh && for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf $f; done")
        #expect(regen.status == 0, "\(regen.all)")
        let newFPs = regen.stdoutText.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init).filter { $0.hasPrefix("SHA256:") }
        #expect(newFPs.count >= 2 && !newFPs.contains(pinnedFP))

        let before = rig.cli.snapshot()
        let refused = try await rig.run(["ssh", "m", "--", "true"])
        Faults.expectOneError(refused, ["HAS CHANGED", pinnedFP, host.ip])
        let line = Faults.errorLine(refused)
        let presented = line.components(separatedBy: "presented ").dropFirst().first ?? ""
        #expect(newFPs.contains { presented.hasPrefix($0) }, "the presented key is not named: \(line)")
        #expect(rig.cli.snapshot() == before, "a refused connection changed the store")
        // provision must not quietly re-pin either.
        let prov = try await rig.run(["provision", "m"])
        Faults.expectOneError(prov, ["HAS CHANGED", pinnedFP])
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == pinnedText, "the pinned key was replaced")
        try await Faults.expectStoreValid(rig.store)

        // The next step the message gives: remove the pinned key, connect again.
        try Data().write(to: URL(fileURLWithPath: knownHosts))
        let repinned = try await rig.run(["ssh", "m", "--", "true"])
        #expect(repinned.status == 0, "\(repinned.all)")
        let fixed = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(fixed, rig, "m", host)
        let now = try await Subprocess.run(["ssh-keygen", "-lf", knownHosts])
        #expect(newFPs.contains { now.stdoutText.contains($0) }, "\(now.all)")
    }

    // MARK: The host's disks

    @Test func diskFullDuringInstall() async throws {
        let name = "ft-disk"
        let host = try await Fleet.fresh(name)
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        // The fleet's apt repository is file:, so apt reads the .debs in place and
        // /var/cache/apt/archives stays empty; dpkg's unpack into /usr/sbin (runc, dockerd) is
        // what needs the space. A tmpfs holding /usr/sbin's current content plus 2 MB.
        let full = try await Fleet.run(name, """
            set -e; mkdir -p /root/sbin-orig; cp -a /usr/sbin/. /root/sbin-orig/
            used=$(du -sk /usr/sbin | cut -f1)
            mount -t tmpfs -o size=$((used + 2048))k,mode=0755 ft-full /usr/sbin
            cp -a /root/sbin-orig/. /usr/sbin/
            """)
        #expect(full.status == 0, "\(full.all)")

        let r = try await rig.create("m", on: host)
        Faults.expectOneError(r, ["create m: install-engine failed", "provision m"])
        #expect(Faults.errorLine(r).contains("No space left on device"), "\(Faults.errorLine(r))")
        #expect(r.stderrText.contains("No space left on device"), "apt/dpkg did hit the full disk (debug output)")
        Faults.expectNoKeyMaterial(r.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")
        #expect(rig.phase("m") == "failed")
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        try await Faults.expectHostClean(name)

        // Room again: the re-run must complete.
        try await Fleet.run(name, "mount -o remount,size=1g /usr/sbin")
        let fixed = try await rig.run(["provision", "--debug", "m"])
        #expect(fixed.status == 0, "\(Faults.errorLine(fixed))")
        if fixed.status != 0 {
            let hand = try await Fleet.run(name, "DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q >/dev/null 2>&1; echo $?")
            #expect(hand.stdoutText == "0\n", "\(hand.all)")
            let again = try await rig.run(["provision", "--debug", "m"])
            try await Faults.expectRerunFixed(again, rig, "m", host)
        } else {
            try await Faults.expectRerunFixed(fixed, rig, "m", host)
        }
        try await Faults.expectHostClean(name)
    }

    @Test func readOnlyEtcFailsWithAClearErrorAndProvisionFinishes() async throws {
        let name = "ft-roetc"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let ro = try await Fleet.run(name, "mount --bind /etc /etc && mount -o remount,ro,bind /etc && ! touch /etc/.ft-probe 2>/dev/null")
        #expect(ro.status == 0, "\(ro.all)")

        let r = try await rig.create("m", on: host)
        Faults.expectOneError(r, ["create m:", "Read-only file system", "provision m"])
        let line = Faults.errorLine(r)
        #expect(line.contains("install-certs failed") || line.contains("configure-engine failed"), "\(line)")
        #expect(rig.phase("m") == "failed")
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        Faults.expectNoKeyMaterial(r.stderrText, Faults.keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output")
        try await Faults.expectHostClean(name)

        try await Fleet.run(name, "mount -o remount,rw,bind /etc && umount /etc")
        let fixed = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(fixed, rig, "m", host)
        try await Faults.expectHostClean(name)
    }

    // MARK: A broken store

    @Test func brokenRecordsDoNotHideTheHealthyMachines() async throws {
        let name = "ft-store"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let ok = try await rig.create("good", on: host)
        #expect(ok.status == 0, "\(ok.stderrText.suffix(3000))")
        let machines = rig.store + "/machines"
        let good = try Data(contentsOf: URL(fileURLWithPath: machines + "/good/config.json"))
        func record(_ n: String, _ change: (inout [String: Any]) -> Void) throws -> Data {
            var o = try JSONSerialization.jsonObject(with: good) as! [String: Any]
            o["name"] = n
            var ssh = o["ssh"] as! [String: Any]
            ssh["knownHostsPath"] = "machines/\(n)/known_hosts"
            o["ssh"] = ssh
            change(&o)
            return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
        }
        let broken: [(String, Data?)] = [
            ("trunc", good.prefix(good.count / 2)),
            ("garbage", Data("{ this is not json \u{1b}[31m".utf8)),
            ("empty", Data()),
            ("future", try record("future") { $0["configVersion"] = 99; $0["fromTheFuture"] = ["x": 1] }),
            ("noconfig", nil),
        ]
        for (n, data) in broken {
            try FileManager.default.createDirectory(atPath: machines + "/" + n, withIntermediateDirectories: true)
            for f in ["ca.pem", "cert.pem", "key.pem", "known_hosts"] {
                try FileManager.default.copyItem(atPath: machines + "/good/" + f, toPath: machines + "/\(n)/" + f)
            }
            if let data { try data.write(to: URL(fileURLWithPath: machines + "/\(n)/config.json")) }
        }
        // A readable record whose TLS files are gone.
        try FileManager.default.createDirectory(atPath: machines + "/nocerts", withIntermediateDirectories: true)
        try record("nocerts") { _ in }.write(to: URL(fileURLWithPath: machines + "/nocerts/config.json"))
        try FileManager.default.copyItem(atPath: machines + "/good/known_hosts", toPath: machines + "/nocerts/known_hosts")

        let ls = try await rig.run(["ls"])
        #expect(ls.status == 0, "\(ls.all)")
        let rows = ls.stdoutText.split(separator: "\n").map(String.init)
        func row(_ n: String) -> String { rows.first { $0.hasPrefix(n + " ") } ?? "" }
        #expect(rows.first?.hasPrefix("NAME") == true, "\(ls.stdoutText)")
        #expect(row("good").contains("Running"), "\(ls.stdoutText)")
        let reasons = ["trunc": "not valid JSON", "garbage": "not valid JSON", "empty": "the file is empty",
                       "future": "newer than this swock-machine", "noconfig": "config.json is missing",
                       "nocerts": "certificate files missing"]
        for (n, reason) in reasons {
            #expect(row(n).contains("Error"), "\(n): \(ls.stdoutText)")
            #expect(row(n).contains(reason), "\(n) without its reason \"\(reason)\": \(ls.stdoutText)")
        }
        #expect(!ls.stdoutText.contains("\u{1b}"), "a terminal escape from a broken file reached the table")
        #expect(rows.count == 1 + 1 + reasons.count, "\(ls.stdoutText)")
        let json = try await rig.run(["ls", "--format", "json"])
        #expect(json.status == 0)
        #expect(json.stdoutText.contains("\"Name\":\"good\"") && json.stdoutText.contains("\"State\":\"Running\""), "\(json.stdoutText)")

        // The broken ones: one clear line each, naming the file and what to do.
        for (n, _) in broken {
            let next = n == "future" ? "upgrade swock-machine" : "rm -f \(n)"
            for cmd in [["env", n], ["inspect", n], ["ip", n]] {
                let r = try await rig.run(cmd)
                Faults.expectOneError(r, ["machine \"\(n)\"", next])
                #expect(r.stdoutText.isEmpty, "\(cmd): \(r.stdoutText)")
                #expect(!r.stderrText.contains("\u{1b}"))
            }
        }
        let nocerts = try await rig.run(["env", "nocerts"])
        Faults.expectOneError(nocerts, ["machines/nocerts/ca.pem is missing", "regenerate-certs nocerts"])
        // Its record itself is fine, so inspect shows it (inspect says nothing about TLS files).
        let inspectNocerts = try await rig.run(["inspect", "nocerts"])
        #expect(inspectNocerts.status == 0, "\(inspectNocerts.all)")

        // The healthy machine is untouched by all of it.
        let env = try await rig.run(["env", "good"])
        #expect(env.status == 0, "\(env.all)")
        try await Faults.expectDockerWorks(rig, "good", host)
        try await Faults.expectStoreValid(rig.store, skipping: Set(reasons.keys))

        // A broken record can be dropped; the others stay.
        let rm = try await rig.run(["rm", "-y", "-f", "trunc"])
        #expect(rm.status == 0, "\(rm.all)")
        #expect(!FileManager.default.fileExists(atPath: machines + "/trunc"))
        let ls2 = try await rig.run(["ls", "-q"])
        #expect(ls2.stdoutText == "good\nnocerts\n", "\(ls2.all)")
    }

    // MARK: Many at once

    @Test func eightCreatesEightRemovesAndLsMeanwhile() async throws {
        let hostNames = (1...8).map { "ft-c\($0)" }
        let hosts = try await Fleet.fresh(hostNames, variant: "docker")
        let machines = (1...8).map { "cc\($0)" }
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let log = ResultLog()

        func lsLoop(_ stop: StopFlag) -> Task<Void, Error> {
            Task {
                while !stop.isSet {
                    log.append("table", try await rig.run(["ls", "-t", "2"]))
                    log.append("json", try await rig.run(["ls", "--format", "json", "-t", "2"]))
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }

        let creating = StopFlag()
        let lsDuringCreates = lsLoop(creating)
        let created = try await withThrowingTaskGroup(of: (String, Subprocess.Result).self) { g in
            for (m, h) in zip(machines, hosts) { g.addTask { (m, try await rig.run(["create", "--generic-ip-address", h.ip, "--generic-ssh-user", h.user, "--generic-ssh-key", h.keyPath, m])) } }
            var out: [(String, Subprocess.Result)] = []
            for try await r in g { out.append(r) }
            return out
        }
        creating.raise()
        try await lsDuringCreates.value
        for (m, r) in created { #expect(r.status == 0, "\(m): \(r.stderrText.suffix(2000))") }
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        let ca = rig.store + "/certs/ca.pem"
        for m in machines {
            let same = try await Subprocess.run(["cmp", ca, rig.store + "/machines/\(m)/ca.pem"])
            #expect(same.status == 0, "\(m) has another CA")
        }
        let ls = try await rig.run(["ls", "--format", "{{.Name}} {{.State}}"])
        #expect(ls.stdoutText == machines.map { "\($0) Running" }.joined(separator: "\n") + "\n", "\(ls.all)")

        let removing = StopFlag()
        let lsDuringRemoves = lsLoop(removing)
        let removed = try await withThrowingTaskGroup(of: (String, Subprocess.Result).self) { g in
            for m in machines { g.addTask { (m, try await rig.run(["rm", "-y", m])) } }
            var out: [(String, Subprocess.Result)] = []
            for try await r in g { out.append(r) }
            return out
        }
        removing.raise()
        try await lsDuringRemoves.value
        for (m, r) in removed {
            #expect(r.status == 0, "\(m): \(r.all)")
            #expect(r.stdoutText == "Successfully removed \(m)\n", "\(m): \(r.all)")
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: rig.store + "/machines")) ?? ["?"]).isEmpty)
        try await Faults.expectStoreValid(rig.store)
        let certs = try await Subprocess.run(["openssl", "verify", "-CAfile", ca, rig.store + "/certs/cert.pem"])
        #expect(certs.status == 0, "the CA and client certificate survived: \(certs.all)")
        let empty = try await rig.run(["ls"])
        #expect(empty.status == 0 && empty.stdoutText.hasPrefix("NAME") && empty.stdoutText.split(separator: "\n").count == 1, "\(empty.all)")
        try await withThrowingTaskGroup(of: Void.self) { g in
            for h in hostNames {
                g.addTask {
                    let r = try await Fleet.run(h, "test -e /etc/systemd/system/docker.service.d/10-swock-machine.conf && echo dropin-left; test -e /etc/docker/swock && echo certs-left; true")
                    #expect(r.stdoutText.isEmpty, "\(h): \(r.stdoutText)")
                }
            }
            try await g.waitForAll()
        }

        // Every ls that ran meanwhile: status 0 and a well-formed table or JSON lines.
        let runs = log.all
        #expect(runs.count >= 2, "ls never ran while the creates and removes did")
        for (kind, r) in runs {
            #expect(r.status == 0, "ls (\(kind)) failed: \(r.all)")
            #expect(r.stderrText.isEmpty, "ls (\(kind)) complained: \(r.stderrText)")
            if kind == "json" {
                for l in r.stdoutText.split(separator: "\n") {
                    let o = (try? JSONSerialization.jsonObject(with: Data(l.utf8))) as? [String: String]
                    #expect(o.map { machines.contains($0["Name"] ?? "") } == true, "bad json line: \(l)")
                }
            } else {
                Self.expectWellFormedTable(r.stdoutText, names: Set(machines))
            }
        }
    }

    /// The header, then one row per machine: every column where the header puts it, a known
    /// machine name, a known state, no record read errors, no machine twice.
    static func expectWellFormedTable(_ text: String, names: Set<String>, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.last == "", "no final newline: \(text)", sourceLocation: sourceLocation)
        let header = lines.first ?? ""
        let columns = ["ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS"]
        guard header.hasPrefix("NAME"), columns.allSatisfy({ header.contains($0) }) else {
            Issue.record("bad header: \(text)", sourceLocation: sourceLocation)
            return
        }
        func at(_ c: String) -> Int { header.distance(from: header.startIndex, to: header.range(of: c)!.lowerBound) }
        let stateStart = at("STATE"), urlStart = at("URL"), activeStart = at("ACTIVE")
        var seen: Set<String> = []
        for row in lines.dropFirst().dropLast() {
            let chars = Array(row)
            let name = String(chars.prefix(activeStart)).trimmingCharacters(in: .whitespaces)
            let state = chars.count > stateStart ? String(chars[stateStart..<min(urlStart, chars.count)]).trimmingCharacters(in: .whitespaces) : ""
            #expect(names.contains(name), "unknown name in row: \(row)", sourceLocation: sourceLocation)
            #expect(["Running", "Stopped", "Timeout", "Error"].contains(state), "bad state in row: \(row)\n\(text)", sourceLocation: sourceLocation)
            #expect(!row.contains("config.json"), "a record was read half-written: \(row)", sourceLocation: sourceLocation)
            #expect(seen.insert(name).inserted, "\(name) twice: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func eightCreatesOfOneNameHaveOneWinner() async throws {
        let name = "ft-c9"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let results = try await withThrowingTaskGroup(of: Subprocess.Result.self) { g in
            for _ in 0..<8 { g.addTask { try await rig.run(["create", "--generic-ip-address", host.ip, "--generic-ssh-user", host.user, "--generic-ssh-key", host.keyPath, "same"]) } }
            var out: [Subprocess.Result] = []
            for try await r in g { out.append(r) }
            return out
        }
        let winners = results.filter { $0.status == 0 }
        #expect(winners.count == 1, "\(results.map { Faults.errorLine($0) })")
        for r in results where r.status != 0 {
            Faults.expectOneError(r, ["machine \"same\" already exists", "rm same"])
        }
        #expect(rig.phase("same") == "ready")
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        try await Faults.expectDockerWorks(rig, "same", host)
        try await Faults.expectHostClean(name)
    }
}
