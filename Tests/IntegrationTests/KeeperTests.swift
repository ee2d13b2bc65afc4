import FleetSupport
import Foundation
import SwockSupport
import Testing

/// Three machines k-t1..k-t3 on docker-variant fleet hosts, created once for the suite.
actor KeeperFixture {
    static let shared = KeeperFixture()
    static let names = ["k-t1", "k-t2", "k-t3"]
    private var setup: Task<(CLI, [FleetHost]), Error>?
    static let storeToRemove = LockedPath()

    func get() async throws -> (CLI, [FleetHost]) {
        if setup == nil {
            setup = Task {
                let hosts = try await Fleet.freshShared(Self.names, variant: "docker")
                let cli = CLI()
                KeeperFixture.storeToRemove.set(cli.store)
                atexit { KeeperFixture.storeToRemove.get().map { _ = try? FileManager.default.removeItem(atPath: $0) } }
                for h in hosts {
                    let r = try await cli.create(h.name, on: h)
                    guard r.status == 0 else { throw Fleet.Failure(description: "create \(h.name): \(r.all)") }
                }
                return (cli, hosts)
            }
        }
        return try await setup!.value
    }
}

/// The connection keeper (`keeper serve`, issue 22): what it survives, whom it serves, when it ends.
/// No timing assertions: every wait below is a bound on a hang, not a measure.
@Suite(.serialized, .enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct KeeperTests {
    func fixture() async throws -> CLI { try await KeeperFixture.shared.get().0 }

    /// The running keeper's pid (`keeper ls`), nil when none runs.
    func keeperPID(_ cli: CLI, env: [String: String] = [:]) async throws -> Int32? {
        let r = try await cli.run(["keeper", "ls"], env: env)
        guard r.status == 0, let line = r.stderrText.textLines().first(where: { $0.hasPrefix("Keeper pid ") }) else { return nil }
        return Int32(line.dropFirst("Keeper pid ".count).prefix { $0.isNumber })
    }

    /// `keeper ls` rows by machine name: [target, host key, connections, in use, idle].
    func held(_ cli: CLI) async throws -> [String: [String]] {
        let r = try await cli.run(["keeper", "ls"])
        var out: [String: [String]] = [:]
        for line in r.stdoutText.textLines().dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if f.count == 6 { out[f[0]] = Array(f.dropFirst()) }
        }
        return out
    }

    func environment(_ cli: CLI) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        env["DOCKER_CONFIG"] = cli.dockerConfig
        return env
    }

    func alive(_ pid: Int32) -> Bool {
        // A zombie is not alive: its /proc status says Z.
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !(s.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }

    func uid(of pid: Int32) -> UInt32? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = s.textLines().first(where: { $0.hasPrefix("Uid:") })
        else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }

    @Test func commandsRunThroughOneKeeperAndItListsWhatItHolds() async throws {
        let cli = try await fixture()
        _ = try await cli.run(["keeper", "stop"])
        let first = try await cli.run(["exec", "--all", "--", "echo $(hostname)"])
        #expect(first.status == 0, "\(first.all)")
        let pid = try #require(try await keeperPID(cli), "exec started no keeper")
        let rows = try await held(cli)
        #expect(Set(rows.keys) == Set(KeeperFixture.names), "\(rows)")
        #expect(rows.values.allSatisfy { $0[1].hasPrefix("SHA256:") && $0[2] == "1" && $0[3] == "0" }, "\(rows)")
        let again = try await cli.run(["exec", "--all", "--", "echo $(hostname)"])
        #expect(Set(again.stdoutText.textLines()) == Set(KeeperFixture.names.map { "\($0) | \($0)" }), "\(again.all)")
        let ssh = try await cli.run(["ssh", "k-t1", "--", "echo out; echo err >&2; exit 7"])
        #expect(ssh.status == 7 && ssh.stdoutText == "out\n" && ssh.stderrText == "err", "\(ssh.all)")
        let piped = try await cli.run(["ssh", "k-t1", "--", "wc -c"], stdin: Data(repeating: 65, count: 300_000))
        #expect(piped.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "300000", "\(piped.all)")
        #expect(try await keeperPID(cli) == pid, "the commands did not stay with one keeper")
        // The socket: 0600 in a 0700 directory of ours, no TCP listener of the keeper's.
        let dir = "/tmp/swock-machine-\(geteuid())"
        let socks = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".sock") }
        #expect(!socks.isEmpty)
        for s in socks {
            let a = try FileManager.default.attributesOfItem(atPath: dir + "/" + s)
            #expect(a[.posixPermissions] as? Int == 0o600, "\(s)")
        }
        #expect(try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int == 0o700)
        let tcp = try await Subprocess.run(["ss", "-ltnpH"])
        #expect(!tcp.stdoutText.contains("pid=\(pid),"), "the keeper listens on TCP: \(tcp.stdoutText)")
        let stop = try await cli.run(["keeper", "stop"])
        #expect(stop.stderrText == "Stopped the connection keeper (pid \(pid))", "\(stop.all)")
        #expect(try await keeperPID(cli) == nil)
    }

    @Test func killingTheKeeperDuringAFleetExecNeverHangs() async throws {
        let cli = try await fixture()
        _ = try await cli.run(["keeper", "stop"])
        let bg = try Background([CLI.binary, "exec", "--all", "-p", "1", "--", "sleep 2; echo done"], environment: environment(cli))
        defer { bg.cleanup() }
        // Wait (bounded) until a command runs through the keeper, then kill it.
        var pid: Int32?
        for _ in 0..<200 where pid == nil {
            if let p = try await keeperPID(cli), try await held(cli).values.contains(where: { $0[3] == "1" }) {
                pid = p
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let keeper = try #require(pid, "no command ran through a keeper")
        kill(keeper, SIGKILL)
        let finished = await bg.wait(upTo: .seconds(60))
        if !finished { bg.kill() }
        #expect(finished, "exec hung after the keeper was killed: \(bg.stderrText)")
        let lines = bg.stderrText.textLines().map(String.init)
        var ok = 0, lost = 0
        for n in KeeperFixture.names {
            if bg.stdoutText.contains("\(n) | done") {
                ok += 1
            } else if lines.contains(where: { $0.hasPrefix("\(n) |") && $0.contains("the connection keeper ended while the command ran") })
            {
                lost += 1
            }
        }
        // Each host's fate is told: done, or lost with the keeper; the hosts after the kill went direct.
        #expect(ok + lost == 3, "\(bg.stdoutText)\n\(bg.stderrText)")
        #expect(lost >= 1 && ok >= 1, "\(bg.stdoutText)\n\(bg.stderrText)")
        #expect(lines.last == "\(ok) ok, \(lost) failed, 0 unreachable", "\(bg.stderrText)")
        // The next command starts a new keeper and works.
        let after = try await cli.run(["exec", "--all", "--", "true"])
        #expect(after.status == 0, "\(after.all)")
        let next = try await keeperPID(cli)
        #expect(next != nil && next != keeper)
    }

    /// A keeper that is stopped (SIGSTOP, Ctrl-Z), not dead, while commands run through it: each
    /// host's command ends with an error naming the stopped keeper (it may have run: it is not run
    /// again directly), and a command that starts meanwhile connects directly.
    @Test func stoppingTheKeeperDuringAFleetExecNeverHangs() async throws {
        let cli = try await fixture()
        _ = try await cli.run(["keeper", "stop"])
        let bg = try Background([CLI.binary, "exec", "--all", "--", "sleep 20; echo done"], environment: environment(cli))
        defer { bg.cleanup() }
        // Wait (bounded) until every host's command runs through the keeper, then stop it.
        var pid: Int32?
        for _ in 0..<200 where pid == nil {
            if let p = try await keeperPID(cli), try await held(cli).values.filter({ $0[3] == "1" }).count == KeeperFixture.names.count {
                pid = p
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let keeper = try #require(pid, "the commands did not all run through a keeper")
        kill(keeper, SIGSTOP)
        defer { kill(keeper, SIGKILL) }
        let finished = await bg.wait(upTo: .seconds(60))
        if !finished { bg.kill() }
        #expect(finished, "exec hung on the stopped keeper: \(bg.stderrText)")
        #expect(bg.status == 1, "\(bg.stdoutText)\n\(bg.stderrText)")  // none succeeded
        let lines = bg.stderrText.textLines().map(String.init)
        for n in KeeperFixture.names {
            #expect(
                lines.contains {
                    $0.hasPrefix("\(n) |")
                        && $0.contains("the connection keeper (pid \(keeper)) was stopped (SIGSTOP or Ctrl-Z) while the command ran on")
                },
                "\(n): \(bg.stderrText)")
        }
        #expect(!bg.stdoutText.contains("done"), "a command ran again directly: \(bg.stdoutText)")
        // Still stopped: a new command does not wait on it, it connects directly.
        let direct = try await cli.run(["ssh", KeeperFixture.names[0], "--", "echo direct"])
        #expect(direct.status == 0 && direct.stdoutText == "direct\n", "\(direct.all)")
        // `keeper ls` says what is wrong and how to go on.
        let ls = try await cli.run(["keeper", "ls"])
        #expect(ls.status != 0)
        #expect(
            ls.stderrText.contains(
                "the connection keeper (pid \(keeper)) is stopped (SIGSTOP or Ctrl-Z): `kill -CONT \(keeper)` resumes it"), "\(ls.all)")
        kill(keeper, SIGKILL)
    }

    @Test func eightConcurrentCommandsThroughOneKeeper() async throws {
        let cli = try await fixture()
        _ = try await cli.run(["keeper", "stop"])
        // Eight commands at once from cold: they start one keeper between them and all run.
        let results = try await withThrowingTaskGroup(of: (Int, FleetSupport.Subprocess.Result).self) { group in
            for i in 0..<8 {
                group.addTask { (i, try await cli.run(["ssh", "k-t2", "--", "echo start \(i); sleep 1; echo end \(i)"])) }
            }
            var out: [Int: FleetSupport.Subprocess.Result] = [:]
            for try await (i, r) in group { out[i] = r }
            return out
        }
        for i in 0..<8 {
            let r = try #require(results[i])
            #expect(r.status == 0 && r.stdoutText == "start \(i)\nend \(i)\n", "\(i): \(r.all)")
        }
        let pid = try #require(try await keeperPID(cli))
        let serving = try await Subprocess.run(["pgrep", "-f", "keeper serve --storage-path \(cli.store) "])
        #expect(serving.stdoutText.textLines().map(String.init) == ["\(pid)"], "\(serving.all)")
        let row = try #require(try await held(cli)["k-t2"])
        #expect((1...8).contains(Int(row[2]) ?? 0) && row[3] == "0", "\(row)")
        // And a fleet exec while they run.
        async let fleet = cli.run(["exec", "--all", "--", "sleep 1; hostname"])
        async let one = cli.run(["ssh", "k-t2", "--", "hostname"])
        let (f, o) = try await (fleet, one)
        #expect(f.status == 0 && o.stdoutText == "k-t2\n", "\(f.all)\n\(o.all)")
        #expect(try await keeperPID(cli) == pid)
    }

    @Test func theIdleTimeoutEndsTheKeeperAndZeroTurnsItOff() async throws {
        let cli = try await fixture()
        _ = try await cli.run(["keeper", "stop"])
        #expect(try await cli.run(["ssh", "--persist", "2s", "k-t1", "--", "true"]).status == 0)
        let pid = try #require(try await keeperPID(cli))
        let socket = try FileManager.default.contentsOfDirectory(atPath: "/tmp/swock-machine-\(geteuid())")
            .filter { $0.hasSuffix(".sock") }
        #expect(!socket.isEmpty)
        // Bounded wait for it to end on its own (no assertion on how long it took).
        for _ in 0..<600 where alive(pid) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!alive(pid), "the keeper outlived its idle time")
        #expect(try await keeperPID(cli) == nil)
        // 0 turns it off: the command connects directly and starts nothing.
        let direct = try await cli.run(["ssh", "--persist", "0", "k-t1", "--", "echo direct"])
        #expect(direct.stdoutText == "direct\n", "\(direct.all)")
        #expect(try await keeperPID(cli) == nil)
        let env = try await cli.run(["exec", "--all", "--", "true"], env: ["SWOCK_PERSIST": "0"])
        #expect(env.status == 0, "\(env.all)")
        #expect(try await keeperPID(cli) == nil)
        let bad = try await cli.run(["ssh", "--persist", "soon", "k-t1", "--", "true"])
        #expect(bad.status == 1 && bad.stderrText.hasPrefix("Error: invalid persist time \"soon\""), "\(bad.all)")
    }

    @Test func twoUsersNeverShareAKeeperOrASocket() async throws {
        let cli = try await fixture()
        #expect(try await cli.run(["ssh", "k-t3", "--", "true"]).status == 0)
        let rootPID = try #require(try await keeperPID(cli))
        // A second user (nobody) with a store of its own, its own HOME and XDG_RUNTIME_DIR.
        let base = NSTemporaryDirectory() + "k-nobody-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let store = base + "/store", run = base + "/run", home = base + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        #expect(try await Subprocess.run(["cp", "-a", cli.store, store]).status == 0)
        let host = try await KeeperFixture.shared.get().1[2]
        let key = store + "/fleet-key"
        try FileManager.default.copyItem(atPath: host.keyPath, toPath: key)
        let configPath = store + "/machines/k-t3/config.json"
        var config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        var ssh = try #require(config["ssh"] as? [String: Any])
        ssh["keyPath"] = key
        config["ssh"] = ssh
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        #expect(try await Subprocess.run(["chown", "-R", "65534:65534", base]).status == 0)
        #expect(chmod(run, 0o700) == 0)
        let env = ["HOME": home, "XDG_RUNTIME_DIR": run, "SWOCK_MACHINE_STORAGE_PATH": store, "PATH": "/usr/bin:/bin"]
        func asNobody(_ args: [String]) async throws -> FleetSupport.Subprocess.Result {
            try await Subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary] + args, environment: env)
        }
        let r = try await asNobody(["ssh", "k-t3", "--", "id -un; hostname"])
        #expect(r.status == 0 && r.stdoutText == "tester\nk-t3\n", "\(r.all)")
        let ls = try await asNobody(["keeper", "ls"])
        let line = ls.stderrText.textLines().first { $0.hasPrefix("Keeper pid ") } ?? ""
        let nobodyPID = try #require(Int32(line.dropFirst("Keeper pid ".count).prefix { $0.isNumber }), "\(ls.all)")
        defer {
            _ = try? Subprocess.runBlocking(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary, "keeper", "stop"], environment: env)
        }
        #expect(nobodyPID != rootPID)
        #expect(uid(of: nobodyPID) == 65534 && uid(of: rootPID) == 0)
        // nobody's socket is in nobody's runtime directory, 0600, nobody's; the directory 0700.
        let dir = run + "/swock-machine"
        let sock = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".sock") })
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/" + sock)
        #expect(attrs[.posixPermissions] as? Int == 0o600 && (attrs[.ownerAccountID] as? NSNumber)?.intValue == 65534)
        #expect(try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int == 0o700)
        // root may open nobody's socket (root passes file modes), but the keeper checks the
        // peer's uid (SO_PEERCRED) and refuses.
        let reply = try Self.rawRequest(dir + "/" + sock, #"{"op":"list"}"#)
        #expect(reply.contains("refused") && !reply.contains("k-t3"), "\(reply)")
        // root's command pointed at nobody's runtime directory does not use it (not ours).
        let crossed = try await cli.run(["keeper", "ls"], env: ["XDG_RUNTIME_DIR": run, "SWOCK_MACHINE_STORAGE_PATH": store])
        #expect(crossed.stderrText.hasPrefix("No connection keeper runs"), "\(crossed.all)")
    }

    @Test func aHostRebootedUnderAHeldConnection() async throws {
        let host = try await Fleet.fresh("k-rb", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        #expect(try await cli.create("rb", on: host).status == 0)
        // A keeper of ours that outlives the reboot however long it takes under load: with the
        // default 60 s it could end idle while the host is down, and another would serve after.
        _ = try await cli.run(["keeper", "stop"])
        #expect(try await cli.run(["ssh", "--persist", "10m", "rb", "--", "true"]).status == 0)
        let pid = try #require(try await keeperPID(cli))
        defer { _ = try? Subprocess.runBlocking([CLI.binary, "keeper", "stop"], environment: environment(cli)) }
        let fp = try #require(try await held(cli)["rb"])[1]
        // What marks a boot: nspawn gives every boot of the container a new boot id (sshd's pid,
        // a fresh boot's like the last one's, does not tell boots apart).
        let bootID = "cat /proc/sys/kernel/random/boot_id"
        let bootBefore = try await Fleet.run(host.name, bootID).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(bootBefore.count == 36, "no boot id: \(bootBefore)")
        _ = try await Fleet.run(host.name, "systemctl reboot")
        // Bounded wait for the host to be back: another boot, sshd active.
        var back = false
        for _ in 0..<600 where !back {
            try await Task.sleep(for: .milliseconds(500))
            let r = try? await Fleet.run(host.name, "systemctl is-active ssh && \(bootID)")
            let lines = r?.stdoutText.textLines().map(String.init) ?? []
            back = r?.status == 0 && lines.count == 2 && lines[0] == "active" && lines[1].count == 36 && lines[1] != bootBefore
        }
        try #require(back, "the host did not come back")
        // The held connection died with the host: the keeper notices and connects again, pinned.
        let runs = "/var/tmp/rb-runs-\(UUID().uuidString.prefix(8))"
        let r = try await cli.run(["ssh", "rb", "--", "echo run >> \(runs); echo back"])
        #expect(r.status == 0 && r.stdoutText == "back\n", "\(r.all)")
        // Run once: the dead session was found before the command, not by running it twice.
        let count = try await Fleet.run(host.name, "wc -l < \(runs)").stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(count == "1", "the command ran \(count) times")
        #expect(try await keeperPID(cli) == pid, "the command did not go through the same keeper")
        #expect(try await held(cli)["rb"]?[1] == fp)
        let ex = try await cli.run(["exec", "rb", "--", "echo again"])
        #expect(ex.stdoutText == "rb | again\n", "\(ex.all)")
    }

    @Test func aChangedHostKeyUnderAHeldConnectionIsRefusedWithBothFingerprints() async throws {
        let host = try await Fleet.fresh("k-hk", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        #expect(try await cli.create("hk", on: host).status == 0)
        #expect(try await cli.run(["ssh", "hk", "--", "true"]).status == 0)
        let pid = try #require(try await keeperPID(cli))
        defer { _ = try? Subprocess.runBlocking([CLI.binary, "keeper", "stop"], environment: environment(cli)) }
        let knownHosts = cli.store + "/machines/hk/known_hosts"
        let pinnedText = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let pinnedFP = try #require(try await held(cli)["hk"])[1]
        // The host is reinstalled: new host keys, its sessions (the held one too) end. SIGKILL is
        // delivered when the process next runs: under load the held session could still answer the
        // keeper's probe, then die under the command; so the script returns only once they are gone.
        let regen = try await Fleet.run(
            host.name,
            """
            rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh && \
            pkill -KILL -f '^sshd: tester' ; \
            for i in $(seq 100); do pgrep -f '^sshd: tester' >/dev/null || break; sleep 0.1; done; \
            for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf $f; done
            """)
        let newFPs = regen.stdoutText.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init).filter { $0.hasPrefix("SHA256:") }
        #expect(newFPs.count >= 2 && !newFPs.contains(pinnedFP), "\(regen.all)")
        for args in [["ssh", "hk", "--", "true"], ["exec", "hk", "--", "true"]] {
            let refused = try await cli.run(args)
            #expect(refused.status != 0, "\(args): \(refused.all)")
            let text = refused.stderrText
            #expect(text.contains("HAS CHANGED") && text.contains(pinnedFP), "\(args): \(text)")
            #expect(newFPs.contains { text.contains("presented \($0)") }, "\(args): the presented key is not named: \(text)")
        }
        #expect(try await keeperPID(cli) == pid, "the refusal did not come through the keeper")
        #expect(try await held(cli)["hk"] == nil, "the keeper still holds a connection to hk")
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == pinnedText, "the pinned key was replaced")
    }

    /// The keeper's TCP connections to Engine API ports (2376), as "LOCAL PEER".
    func engineConnections(_ pid: Int32) async throws -> Set<String> {
        let ss = try await Subprocess.run(["ss", "-tnpH", "state", "established"])
        var out = Set<String>()
        for line in ss.stdoutText.textLines() where line.contains("pid=\(pid),") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if f.count >= 4, f[3].hasSuffix(":2376") { out.insert(f[2] + " " + f[3]) }
        }
        return out
    }

    /// `ls` lines "NAME STATE DOCKER" by name.
    func listed(_ cli: CLI, _ extra: [String] = []) async throws -> [String: String] {
        let r = try await cli.run(["ls", "--format", "{{.Name}} {{.State}} {{.DockerVersion}}"] + extra)
        var out: [String: String] = [:]
        for line in r.stdoutText.textLines() {
            let f = line.split(separator: " ", maxSplits: 1).map(String.init)
            if f.count == 2 { out[f[0]] = f[1] }
        }
        return out
    }

    @Test func lsAsksTheDaemonsOverConnectionsTheKeeperKeeps() async throws {
        let (cli, hosts) = try await KeeperFixture.shared.get()
        _ = try await cli.run(["keeper", "stop"])
        func allRunning(_ l: [String: String]) -> Bool {
            Set(l.keys) == Set(KeeperFixture.names) && l.values.allSatisfy { $0.hasPrefix("Running v") }
        }
        let first = try await listed(cli)
        #expect(allRunning(first), "\(first)")
        let pid = try #require(try await keeperPID(cli), "ls started no keeper")
        let list = try await cli.run(["keeper", "ls"])
        #expect(list.stderrText.contains("Engine API connections kept (for ls): 3 (k-t1, k-t2, k-t3)"), "\(list.all)")
        let kept = try await engineConnections(pid)
        #expect(kept.count == 3, "\(kept)")
        // Asked again over the same connections: no new connection, no handshake.
        #expect(try await listed(cli) == first)
        #expect(try await engineConnections(pid) == kept, "ls did not ask over the kept connections")
        // Without the keeper, the same answers.
        #expect(try await listed(cli, ["--persist", "0"]) == first)

        // A daemon restarted under its kept connection: the next ls connects again.
        let (a, b) = (hosts[0], hosts[1])
        let restart = try await Fleet.run(a.name, "systemctl restart docker")
        #expect(restart.status == 0, "\(restart.all)")
        #expect(try await listed(cli)["k-t1"]?.hasPrefix("Running v") == true)
        let afterRestart = try await engineConnections(pid)
        #expect(afterRestart.count == 3 && afterRestart != kept, "\(kept) -> \(afterRestart)")

        // A stopped daemon on a host whose SSH answers is Stopped, as without the keeper.
        let stop = try await Fleet.run(b.name, "systemctl stop docker docker.socket")
        #expect(stop.status == 0, "\(stop.all)")
        #expect(try await listed(cli)["k-t2"] == "Stopped Unknown")
        #expect(try await listed(cli, ["--persist", "0"])["k-t2"] == "Stopped Unknown")
        let start = try await Fleet.run(b.name, "systemctl start docker")
        #expect(start.status == 0, "\(start.all)")
        var back = false
        for _ in 0..<100 where !back {
            back = try await listed(cli)["k-t2"]?.hasPrefix("Running v") == true
            if !back { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(back, "k-t2's engine is not Running again")

        // Rewritten TLS files (a new inode, as regenerate-certs writes them) retire the kept connection.
        let before = try await engineConnections(pid).filter { $0.hasSuffix(" \(a.ip):2376") }
        #expect(before.count == 1, "\(before)")
        let ca = cli.store + "/machines/k-t1/ca.pem"
        try FileManager.default.copyItem(atPath: ca, toPath: ca + ".new")
        #expect(rename(ca + ".new", ca) == 0)
        #expect(try await listed(cli)["k-t1"]?.hasPrefix("Running v") == true)
        let after = try await engineConnections(pid).filter { $0.hasSuffix(" \(a.ip):2376") }
        #expect(after.count == 1 && after != before, "\(before) -> \(after)")
        #expect(try await keeperPID(cli) == pid, "the listings did not stay with one keeper")

        // A keeper that stops answering (SIGSTOP, not dead) holds ls no longer than its -t and a
        // margin: ls gives it up and asks the daemons itself. (A bound on a hang, not a measure.)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let bg = try Background([CLI.binary, "ls", "-t", "1", "--format", "{{.Name}}"], environment: environment(cli))
        defer { bg.cleanup() }
        let finished = await bg.wait(upTo: .seconds(60))
        if !finished { bg.kill() }
        #expect(finished, "ls waited for a stopped keeper: \(bg.stderrText)")
        #expect(Set(bg.stdoutText.textLines().map(String.init)) == Set(KeeperFixture.names), "\(bg.stdoutText)\n\(bg.stderrText)")
    }

    @Test func removingAMachineDropsItsConnections() async throws {
        let cli = try await fixture()
        #expect(try await cli.run(["ssh", "k-t1", "--", "true"]).status == 0)
        #expect(try await held(cli)["k-t1"] != nil)
        #expect(try await cli.run(["ls"]).status == 0)
        #expect(try await cli.run(["keeper", "ls"]).stderrText.contains("k-t1"), "ls kept no Engine API connection to k-t1")
        // A changed record: the next command opens a new connection under it.
        let configPath = cli.store + "/machines/k-t1/config.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: configPath))
        var config = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        var ssh = try #require(config["ssh"] as? [String: Any])
        ssh["port"] = 2
        config["ssh"] = ssh
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let moved = try await cli.run(["ssh", "k-t1", "--", "true"])
        #expect(moved.status != 0 && moved.stderrText.contains("port 2"), "a held connection outlived its record: \(moved.all)")
        try original.write(to: URL(fileURLWithPath: configPath))
        #expect(try await cli.run(["ssh", "k-t1", "--", "true"]).status == 0)
        // rm drops: after `rm`, the keeper holds nothing for the name.
        let rmHost = try await KeeperFixture.shared.get().1[0]
        #expect(try await cli.run(["rm", "-y", "k-t1"]).status == 0)
        #expect(try await held(cli)["k-t1"] == nil, "rm left k-t1's connection held")
        let engines = try await cli.run(["keeper", "ls"])
        #expect(!engines.stderrText.contains("k-t1"), "rm left k-t1's Engine API connection kept: \(engines.all)")
        let again = try await cli.create("k-t1", on: rmHost)
        #expect(again.status == 0, "\(again.all)")
    }
}

extension KeeperTests {
    /// One request frame to a keeper socket; the reply frame's JSON text (or what went wrong).
    static func rawRequest(_ path: String, _ json: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { return "connect failed: \(String(cString: strerror(errno)))" }
        let body = Array(json.utf8)
        let n = UInt32(body.count)
        let frame = [0x51, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + body
        // MSG_NOSIGNAL: a keeper that refuses us replies and closes at once, maybe before this
        // write, which must not kill the test process with SIGPIPE (the reply is still read).
        _ = frame.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        // One frame: the header, then as many bytes as it says (the keeper keeps the connection open).
        func readExactly(_ n: Int) -> [UInt8]? {
            var buf = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, n - got) }
                if r <= 0 { return nil }
                got += r
            }
            return buf
        }
        guard let header = readExactly(5) else { return "no reply" }
        let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
        guard length < 1 << 20, let body = readExactly(length) else { return "a broken reply" }
        return String(decoding: body, as: UTF8.self)
    }
}
