import FleetSupport
import Foundation
import Testing

/// Machines behind bastions (`--generic-ssh-proxy-jump`): the targets sit on private fleet
/// networks the client has no route to. Everything goes through the jump hosts: create, ssh, scp,
/// exec, lifecycle, and the docker CLI through the tool's own Engine API forward.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct BastionTests {
    /// `env --shell bash` output as a dictionary.
    static func parseEnv(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst("export ".count)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            out[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return out
    }

    /// The docker CLI with what `env` printed, as a user's shell would have it.
    static func docker(_ args: [String], env printed: [String: String], cli: CLI, stdin: Data? = nil) async throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in printed { env[k] = v }
        env["DOCKER_CONFIG"] = cli.dockerConfig
        env.removeValue(forKey: "DOCKER_CONTEXT")
        return try await Subprocess.run(["docker"] + args, stdin: stdin, environment: env)
    }

    func create(_ cli: CLI, _ name: String, target: FleetHost, jumps: String) async throws -> Subprocess.Result {
        try await cli.run([
            "create", "--driver", "generic", "--generic-ip-address", target.ip, "--generic-ssh-user", "tester",
            "--generic-ssh-key", target.keyPath, "--generic-ssh-proxy-jump", jumps, name,
        ])
    }

    /// What a user does with such a machine, through the route it was created with.
    func exercise(_ cli: CLI, _ name: String, target: FleetHost) async throws {
        // create started the forward: the docker context it wrote works at once.
        var ctxEnv = ProcessInfo.processInfo.environment
        ctxEnv["DOCKER_CONFIG"] = cli.dockerConfig
        ctxEnv.removeValue(forKey: "DOCKER_HOST")
        ctxEnv.removeValue(forKey: "DOCKER_CONTEXT")
        let ctx = try await Subprocess.run(["docker", "--context", name, "version", "--format", "{{.Server.Os}}"], environment: ctxEnv)
        #expect(ctx.stdoutText == "linux\n", "\(ctx.all)")
        // ssh, exec and scp go through the jump hosts.
        let who = try await cli.run(["ssh", name, "--", "hostname"])
        #expect(who.stdoutText == target.name + "\n", "\(who.all)")
        let ex = try await cli.run(["exec", name, "--", "echo from $(hostname)"])
        #expect(ex.status == 0 && ex.stdoutText.contains("from \(target.name)"), "\(ex.all)")
        let dir = NSTemporaryDirectory() + "bastion-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let payload = Data((0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try payload.write(to: URL(fileURLWithPath: dir + "/up.bin"))
        #expect(try await cli.run(["scp", dir + "/up.bin", "\(name):up.bin"]).status == 0)
        let back = try await cli.run(["scp", "\(name):up.bin", dir + "/back.bin"])
        #expect(back.status == 0, "\(back.all)")
        #expect(FileManager.default.contents(atPath: dir + "/back.bin") == payload)

        // ls asks the daemon through this process's own forward; url is the local end.
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.State}} {{.URL}}"])
        let url = try await cli.run(["url", name]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(url.hasPrefix("tcp://127.0.0.1:"), "\(url)")
        #expect(ls.stdoutText.contains("\(name) Running \(url)"), "\(ls.all)")

        // env starts the background forward; the real docker CLI then runs a container.
        let env = try await cli.run(["env", "--shell", "bash", name])
        #expect(env.status == 0, "\(env.all)")
        #expect(env.stderrText.contains("forwarded to \(url)"), "\(env.stderrText)")
        let vars = Self.parseEnv(env.stdoutText)
        #expect(vars["DOCKER_HOST"] == url)
        let tar = try await Fleet.busyboxTarball()
        let imp = try await Self.docker(["import", tar, "busybox:local"], env: vars, cli: cli)
        #expect(imp.status == 0, "\(imp.all)")
        let run = try await Self.docker(
            ["run", "--rm", "busybox:local", "sh", "-c", DockerRace.sleepThenEcho, "hello through the bastion"], env: vars, cli: cli)
        #expect(run.stdoutText == "hello through the bastion\n", "\(run.all)")
        // A second env finds the forward running (same pid).
        let again = try await cli.run(["env", "--shell", "bash", name])
        #expect(again.stderrText == env.stderrText, "\(again.stderrText)")

        // The docker fan-out forwards on its own.
        let fan = try await cli.run(["docker", name, "--", "version", "--format", "{{.Server.Os}}"])
        #expect(fan.status == 0 && fan.stdoutText.contains("linux"), "\(fan.all)")

        // The lifecycle and new certificates go the same way; docker works after them.
        #expect(try await cli.run(["stop", name]).status == 0)
        #expect(try await cli.run(["status", name]).stdoutText == "Stopped\n")
        #expect(try await cli.run(["start", name]).status == 0)
        #expect(try await cli.run(["status", name]).stdoutText == "Running\n")
        let restart = try await cli.run(["restart", name])
        #expect(restart.status == 0, "\(restart.all)")
        let regen = try await cli.run(["regenerate-certs", "-f", name])
        #expect(regen.status == 0, "\(regen.all)")
        let after = try await Self.docker(["version", "--format", "{{.Server.Version}}"], env: vars, cli: cli)
        #expect(after.status == 0, "\(after.all)")

        // rm stops the forward and leaves dockerd on its unix socket.
        let pid = try String(contentsOfFile: "\(cli.store)/machines/\(name)/tunnel.pid", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let rm = try await cli.run(["rm", "-y", name])
        #expect(rm.status == 0, "\(rm.all)")
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).map {
            $0[$0.index(after: $0.lastIndex(of: ")")!)...].prefix(2)
        }
        #expect(state == nil || state == " Z", "the forward (pid \(pid)) outlived rm: \(state ?? "")")
        let unix = try await Fleet.run(target.name, "docker -H unix:///var/run/docker.sock version --format 'unix-ok {{.Server.Version}}'")
        #expect(unix.stdoutText.hasPrefix("unix-ok "), "\(unix.stdoutText) \(unix.stderrText)")
    }

    @Test func oneHop() async throws {
        async let b = Fleet.fresh("bt-b1", nets: "outer,lan6")
        async let t = Fleet.fresh("bt-t1", nets: "lan6")
        let (bastion, target) = try await (b, t)
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await create(cli, "behind1", target: target, jumps: "tester@\(bastion.ip)")
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("via tester@\(bastion.ip):22 (SHA256:"), "\(r.stderrText)")
        let c = try cli.config("behind1")
        let ssh = c["ssh"] as! [String: Any]
        let hops = ssh["proxyJump"] as! [[String: Any]]
        #expect(hops.count == 1 && hops[0]["host"] as? String == bastion.ip)
        // The bastion's key is pinned with the target's.
        let pinned = try String(contentsOfFile: "\(cli.store)/machines/behind1/known_hosts", encoding: .utf8)
        #expect(pinned.contains(bastion.ip + " ") && pinned.contains(target.ip + " "), "\(pinned)")
        try await exercise(cli, "behind1", target: target)

        // As root on the target (the bastion still as tester), the engine already there.
        let asRoot = try await cli.run([
            "create", "--driver", "generic", "--generic-ip-address", target.ip, "--generic-ssh-user", "root",
            "--generic-ssh-key", target.keyPath, "--generic-ssh-proxy-jump", "tester@\(bastion.ip)", "root1",
        ])
        #expect(asRoot.status == 0, "\(asRoot.all)")
        let env = Self.parseEnv(try await cli.run(["env", "--shell", "bash", "root1"]).stdoutText)
        let tar = try await Fleet.busyboxTarball()
        #expect(try await Self.docker(["import", tar, "busybox:local"], env: env, cli: cli).status == 0)
        let run = try await Self.docker(
            ["run", "--rm", "busybox:local", "sh", "-c", DockerRace.sleepThenEcho, "root through the bastion"], env: env, cli: cli)
        #expect(run.stdoutText == "root through the bastion\n", "\(run.all)")
        #expect(try await cli.run(["rm", "-y", "root1"]).status == 0)
        let unix = try await Fleet.run(target.name, "docker -H unix:///var/run/docker.sock version --format ok")
        #expect(unix.stdoutText == "ok\n", "\(unix.stderrText)")
    }

    /// The target's SSH password goes to the target only. The bastion accepts password logins
    /// for the same user with the same password (so an old build sending it there got in with
    /// it, silently); its sshd journal must show no password attempt at all, only the agent's key.
    @Test func theTargetsPasswordIsNeverSentToABastion() async throws {
        async let b = Fleet.fresh("pp-pwbast", nets: "outer,lan2")
        async let t = Fleet.fresh("pp-pwtgt", variant: "docker", nets: "lan2")
        let (bastion, target) = try await (b, t)
        let cli = CLI()
        defer { cli.cleanup() }
        // An agent holding the fleet key: how the hop logs in (the password is for the target).
        let agentDir = NSTemporaryDirectory() + "pp-agent-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: agentDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: agentDir) }
        let sock = agentDir + "/agent.sock"
        // In the foreground (-D), ended by this test: a daemonized agent would keep our pipes open.
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        agent.arguments = ["-D", "-a", sock]
        agent.standardInput = FileHandle.nullDevice
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        // SIGKILL: a child of the test runner inherits its blocked signals, SIGTERM would wait.
        defer { kill(agent.processIdentifier, SIGKILL); agent.waitUntilExit() }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: sock) { try await Task.sleep(for: .milliseconds(50)) }
        let add = try await Subprocess.run(["ssh-add", target.keyPath], environment: ["SSH_AUTH_SOCK": sock, "PATH": "/usr/bin:/bin"])
        try #require(add.status == 0, "\(add.all)")
        let env = ["SSH_AUTH_SOCK": sock, "HOME": agentDir, "SWOCK_GENERIC_SSH_PASSWORD": "tester-pw"]
        let mark = "pp-pwbast-\(UUID().uuidString.prefix(8))"
        _ = try await Fleet.run(bastion.name, "logger -t sshd-mark \(mark)")

        let r = try await cli.run(
            [
                "create", "--driver", "generic", "--generic-ip-address", target.ip, "--generic-ssh-user", "tester",
                "--generic-ssh-proxy-jump", "tester@\(bastion.ip)", "pw1",
            ], env: env)
        #expect(r.status == 0, "\(r.all)")
        // Later sessions (the generated key for the target) take the same way.
        let who = try await cli.run(["ssh", "pw1", "--", "hostname"], env: env)
        #expect(who.stdoutText == target.name + "\n", "\(who.all)")

        let journal = try await Fleet.run(
            bastion.name, "journalctl -o cat --no-pager | sed -n '/\(mark)/,$p' | grep -E '(password|publickey) for '")
        let lines = journal.stdoutText.split(separator: "\n").map(String.init)
        #expect(!lines.contains { $0.contains("password for") }, "the bastion was sent a password: \(lines)")
        #expect(lines.contains { $0.contains("Accepted publickey for tester") }, "the bastion saw no key login: \(lines)")
        let onTarget = try await Fleet.run(target.name, "journalctl -o cat --no-pager | grep -c 'Accepted password for tester' || true")
        #expect(Int(onTarget.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1, "the target saw no password login")
        #expect(try await cli.run(["rm", "-y", "pw1"], env: env).status == 0)
    }

    @Test func twoHops() async throws {
        async let a = Fleet.fresh("bt-b2", nets: "outer,lan7")
        async let b = Fleet.fresh("bt-b3", nets: "lan7,lan8")
        async let t = Fleet.fresh("bt-t2", nets: "lan8")
        let (first, second, target) = try await (a, b, t)
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await create(cli, "behind2", target: target, jumps: "tester@\(first.ip),\(second.ip)")
        #expect(r.status == 0, "\(r.all)")
        try await exercise(cli, "behind2", target: target)
    }

    /// The SAN line of a PEM certificate, as openssl prints it ("IP Address:10.231.1.10, ...").
    static func sans(_ path: String) async throws -> String {
        let r = try await Subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", path])
        return r.stdoutText.split(separator: "\n").dropFirst().joined().trimmingCharacters(in: .whitespaces)
    }

    /// Every tunnelled machine's certificate covers 127.0.0.1 (the docker CLI reaches it there),
    /// and all come from the store's one CA: that must not let one pass for another. Two machines
    /// behind one bastion; two's certificate is presented where one is expected.
    @Test func anotherTunnelledMachinesCertificateDoesNotPassForIt() async throws {
        async let b = Fleet.fresh("ce-bb", nets: "outer,lan5")
        async let t1 = Fleet.fresh("ce-t1", variant: "docker", nets: "lan5")
        async let t2 = Fleet.fresh("ce-t2", variant: "docker", nets: "lan5")
        let (bastion, one, two) = try await (b, t1, t2)
        let cli = CLI()
        defer { cli.cleanup() }
        for (name, host) in [("one", one), ("two", two)] {
            let r = try await create(cli, name, target: host, jumps: "tester@\(bastion.ip)")
            #expect(r.status == 0, "\(r.all)")
        }
        let dir = { (name: String) in "\(cli.store)/machines/\(name)" }
        // Loopback only where needed: 127.0.0.1 (not localhost) beside the machine's own address.
        #expect(try await Self.sans(dir("one") + "/server.pem") == "IP Address:\(one.ip), IP Address:127.0.0.1")

        // 1. The docker CLI (env and the context create wrote). The forward of one is down and
        // someone else serves its local port: two's daemon, with two's certificate (here through
        // a forward of two moved to one's port).
        let vars = Self.parseEnv(try await cli.run(["env", "--shell", "bash", "one"]).stdoutText)
        let port = try #require(Int(vars["DOCKER_HOST"]?.split(separator: ":").last ?? ""))
        var ctxEnv = ProcessInfo.processInfo.environment
        ctxEnv["DOCKER_CONFIG"] = cli.dockerConfig
        ctxEnv.removeValue(forKey: "DOCKER_HOST")
        ctxEnv.removeValue(forKey: "DOCKER_CONTEXT")
        let name = ["info", "--format", "{{.Name}}"]
        let genuine = try await Self.docker(name, env: vars, cli: cli)
        #expect(genuine.stdoutText == one.name + "\n", "\(genuine.all)")
        #expect(try await cli.run(["tunnel", "--stop", "one"]).status == 0)
        _ = try await cli.run(["tunnel", "--stop", "two"])
        let recordPath = dir("two") + "/config.json"
        var record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as! [String: Any]
        var engine = record["engine"] as! [String: Any]
        engine["forwardPort"] = port
        record["engine"] = engine
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))
        let impostor = try await cli.run(["tunnel", "--background", "--persist", "45s", "two"])
        #expect(impostor.status == 0 && impostor.stderrText.contains("127.0.0.1:\(port)"), "\(impostor.all)")
        // The background forward got this command's --persist (it used to follow $SWOCK_PERSIST only).
        let pid = impostor.stderrText.split(separator: "(pid ").last.flatMap { Int($0.prefix(while: \.isNumber)) }
        let cmdline = try #require(FileManager.default.contents(atPath: "/proc/\(pid ?? 0)/cmdline"), "\(impostor.all)")
        let argv = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(Array(argv.suffix(3)) == ["--persist", "45s", "two"], "\(argv)")
        for (what, r) in [
            ("env", try await Self.docker(name, env: vars, cli: cli)),
            ("context", try await Subprocess.run(["docker", "--context", "one"] + name, environment: ctxEnv)),
        ] {
            #expect(r.status != 0 && !r.stdoutText.contains(two.name), "\(what): two's daemon passed for one: \(r.all)")
            #expect(r.stderrText.contains("x509: certificate signed by unknown authority"), "\(what): \(r.all)")
        }
        #expect(try await cli.run(["tunnel", "--stop", "two"]).status == 0)

        // 2. swock-machine's own client (ls, status) opens its own forward, so it meets whatever
        // answers at one's address: what a neighbour holding two's certificate would present
        // there (here one's own dockerd serving two's certificate and key).
        let swap = try await Fleet.run(
            one.name, "cat > /etc/docker/swock/server.pem",
            stdin: try Data(contentsOf: URL(fileURLWithPath: dir("two") + "/server.pem")))
        #expect(swap.status == 0, "\(swap.all)")
        let key = try await Fleet.run(
            one.name, "cat > /etc/docker/swock/server-key.pem && systemctl restart docker",
            stdin: try Data(contentsOf: URL(fileURLWithPath: dir("two") + "/server-key.pem")))
        #expect(key.status == 0, "\(key.all)")
        let status = try await cli.run(["status", "one"])
        #expect(status.stdoutText != "Running\n", "two's certificate passed for one: \(status.all)")
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}", "--filter", "name=^one$"])
        #expect(ls.stdoutText == "one Error TLS: certificate does not cover the address\n", "\(ls.all)")
        // A certificate of its own again: one answers.
        let regen = try await cli.run(["regenerate-certs", "-f", "one"])
        #expect(regen.status == 0, "\(regen.all)")
        #expect(try await cli.run(["status", "one"]).stdoutText == "Running\n")
        _ = try await cli.run(["rm", "-y", "-f", "one", "two"])
    }

    /// Whether a connection waits in the accept queue of `pid`'s listening unix socket, and the
    /// `ss` line of that socket (or why there is none), for the message of a failed wait.
    static func listenQueue(of pid: Int32) async throws -> (Bool, String) {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(
            fds.compactMap { fd -> String? in
                guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                    link.hasPrefix("socket:[")
                else { return nil }
                return String(link.dropFirst("socket:[".count).dropLast())
            })
        let ss = try await Subprocess.run(["ss", "-xlH"])
        guard ss.status == 0 else { return (false, "ss failed: \(ss.stderrText)") }
        // u_str LISTEN RECV-Q SEND-Q PATH INODE * 0
        for line in ss.stdoutText.textLines() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 6, inodes.contains(String(f[5])) { return ((Int(f[2]) ?? 0) >= 1, String(line)) }
        }
        return (false, "none among \(inodes.count) sockets of pid \(pid)")
    }

    /// The Engine API of a machine behind a bastion goes through the session the connection
    /// keeper holds (issue 22): warm, `ls`, `status` and `version` log in on the bastion no more.
    /// A keeper killed while a command waits on it leaves that command to connect directly; with
    /// the keeper off (SWOCK_PERSIST=0, --persist 0) every command connects itself.
    @Test func enginesBehindABastionGoThroughTheKeeper() async throws {
        async let b = Fleet.fresh("fw-b1", nets: "outer,lan1")
        async let t = Fleet.fresh("fw-t1", variant: "docker", nets: "lan1")
        let (bastion, target) = try await (b, t)
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await create(cli, "fwm", target: target, jumps: "tester@\(bastion.ip)")
        #expect(r.status == 0, "\(r.all)")
        let keeper = KeeperTests()
        _ = try await cli.run(["keeper", "stop"])
        defer { _ = try? Subprocess.runBlocking([CLI.binary, "keeper", "stop"], environment: keeper.environment(cli)) }
        /// The SSH logins the bastion accepted while `body` ran (its sshd's journal).
        func logins(_ body: () async throws -> Void) async throws -> Int {
            let mark = "fw-mark-\(UUID().uuidString.prefix(8))"
            _ = try await Fleet.run(bastion.name, "logger -t fw-mark \(mark)")
            try await body()
            let n = try await Fleet.run(
                bastion.name, "journalctl -o cat --no-pager | sed -n '/\(mark)/,$p' | grep -c 'Accepted publickey for ' || true")
            return Int(n.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        let ls = ["ls", "-t", "30", "--format", "{{.Name}} {{.State}}"]

        // The first ls starts the keeper, which connects through the bastion and keeps the session.
        let first = try await cli.run(ls)
        #expect(first.stdoutText == "fwm Running\n", "\(first.all)")
        let pid = try #require(try await keeper.keeperPID(cli), "ls started no keeper")
        #expect(try await keeper.held(cli)["fwm"]?[2] == "1", "the keeper holds no session of fwm")
        // Warm: the commands ride on that session, no new login on the bastion.
        let warm = try await logins {
            let again = try await cli.run(ls)
            #expect(again.stdoutText == "fwm Running\n", "\(again.all)")
            let status = try await cli.run(["status", "-t", "30", "fwm"])
            #expect(status.stdoutText == "Running\n", "\(status.all)")
            let version = try await cli.run(["version", "fwm"])
            #expect(version.status == 0 && version.stdoutText.first?.isNumber == true, "\(version.all)")
        }
        #expect(warm == 0, "the warm commands logged in on the bastion \(warm) times")
        #expect(try await keeper.keeperPID(cli) == pid)
        #expect(try await keeper.held(cli)["fwm"]?[2] == "1", "the keeper opened another session of fwm")

        // The keeper stops answering while a status waits on it, then is killed: the status
        // connects directly and answers (bounded waits: a hang fails, no time is measured).
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGKILL) }
        let bg = try Background([CLI.binary, "status", "--debug", "-t", "30", "fwm"], environment: keeper.environment(cli))
        defer { bg.cleanup() }
        var queued = false
        var seen = ""
        for _ in 0..<400 where !queued && bg.isRunning {
            // Recv-Q of the stopped keeper's listening socket (found by the inode of one of its
            // descriptors): the connections it has not accepted.
            (queued, seen) = try await Self.listenQueue(of: pid)
            if !queued { try await Task.sleep(for: .milliseconds(50)) }
        }
        kill(pid, SIGKILL)
        #expect(
            queued,
            "the status never reached the keeper (its listening socket: \(seen); status \(bg.isRunning ? "still waiting" : "finished: \(bg.stderrText)"))"
        )
        let finished = await bg.wait(upTo: .seconds(90))
        if !finished { bg.kill() }
        #expect(finished, "status hung after the keeper was killed: \(bg.stderrText)")
        #expect(bg.status == 0 && bg.stdoutText == "Running\n", "\(bg.stdoutText)\n\(bg.stderrText)")

        // Off: each command connects itself, and starts no keeper.
        let direct = try await logins {
            let off = try await cli.run(ls, env: ["SWOCK_PERSIST": "0"])
            #expect(off.stdoutText == "fwm Running\n", "\(off.all)")
            let status = try await cli.run(["status", "--persist", "0", "-t", "30", "fwm"])
            #expect(status.stdoutText == "Running\n", "\(status.all)")
        }
        #expect(direct >= 2, "the commands with the keeper off logged in on the bastion \(direct) times")
        #expect(try await keeper.keeperPID(cli) == nil, "a keeper started with the keeper off")
        // On again: a new keeper serves.
        #expect(try await cli.run(ls).stdoutText == "fwm Running\n")
        let next = try await keeper.keeperPID(cli)
        #expect(next != nil && next != pid)
        _ = try await cli.run(["rm", "-y", "-f", "fwm"])
    }

    @Test func aChangedBastionKeyIsRefusedWithBothFingerprints() async throws {
        async let b = Fleet.fresh("bt-b4", nets: "outer,lan9")
        async let t = Fleet.fresh("bt-t4", variant: "docker", nets: "lan9")
        let (bastion, target) = try await (b, t)
        let cli = CLI()
        defer { cli.cleanup() }
        let r = try await create(cli, "behind4", target: target, jumps: bastion.ip)
        #expect(r.status == 0, "\(r.all)")
        let old = try await Fleet.run(bastion.name, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2").stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let changed = try await Fleet.run(
            bastion.name,
            """
            rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null && systemctl reload ssh && \
            for i in $(seq 50); do ss -ltn | grep -q ':22 ' && break; sleep 0.1; done; \
            ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2
            """)
        let new = changed.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(changed.status == 0 && new.hasPrefix("SHA256:") && new != old, "\(changed.stderrText)")
        // A reinstall ends the bastion's sessions; `reload` keeps them, and create's readiness
        // check left the keeper holding one through the bastion (authenticated under the old key,
        // as an OpenSSH ControlPersist master would be). End it, so the commands connect anew.
        _ = try await cli.run(["keeper", "stop"])
        for args in [["ssh", "behind4", "--", "true"], ["exec", "behind4", "--", "true"]] {
            let refused = try await cli.run(args)
            #expect(refused.status != 0)
            let text = refused.stderrText
            #expect(text.contains("jump host") && text.contains(bastion.ip), "\(args): \(text)")
            #expect(text.contains(old) && text.contains(new), "\(args): both fingerprints expected: \(text)")
        }
        // The target itself was not touched: its engine still runs (seen from inside the host).
        #expect(try await Fleet.run(target.name, "docker version --format ok").stdoutText == "ok\n")
        _ = try await cli.run(["rm", "-y", "-f", "behind4"])
    }
}
