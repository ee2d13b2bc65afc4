import FleetSupport
import Foundation
import SwockSupport
import Testing

/// Keys stay in 0600 files: never on a command line (local or remote), never in `--debug`
/// output, never left in a temp file.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct SecretsTests {
    /// Samples every process's full command line on the host every 50 ms until `stop` is made
    /// (at most ~3 minutes). Returns once sampling runs.
    static func watchProcessTable(_ name: String) async throws -> (stop: String, task: Task<Subprocess.Result, Error>) {
        let id = UUID().uuidString.prefix(8)
        let stop = "/run/ft-stop-\(id)", ready = "/run/ft-watching-\(id)"
        let task = Task {
            try await Fleet.run(
                name,
                """
                n=0; touch \(ready)
                while [ ! -e \(stop) ] && [ $n -lt 3600 ]; do ps -ewwo args; n=$((n+1)); sleep 0.05; done
                echo "samples=$n"
                """)
        }
        _ = try await Faults.waitOnHost(name, "test -e \(ready)", timeout: .seconds(30))
        return (stop, task)
    }

    static func stopWatching(_ name: String, _ w: (stop: String, task: Task<Subprocess.Result, Error>)) async throws -> String {
        try await Fleet.run(name, "touch \(w.stop)")
        let r = try await w.task.value
        let samples = Int(r.stdoutText.split(separator: "\n").last?.split(separator: "=").last ?? "") ?? 0
        #expect(samples >= 10, "the process table was sampled only \(samples) times")
        return r.stdoutText
    }

    /// Every file under the store 0600 (those holding a key first of all), every directory 0700.
    static func expectPrivateModes(_ store: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fm = FileManager.default
        var checked = 0, keys = 0
        for rel in [""] + (fm.enumerator(atPath: store)?.allObjects.compactMap { $0 as? String } ?? []) {
            let path = store + (rel.isEmpty ? "" : "/" + rel)
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let mode = Int(st.st_mode & 0o7777)
            if (st.st_mode & S_IFMT) == S_IFDIR {
                #expect(
                    mode == 0o700, "\(rel.isEmpty ? "<store>" : rel)/ has mode \(String(mode, radix: 8))", sourceLocation: sourceLocation)
            } else {
                let holdsKey = fm.contents(atPath: path).map { String(decoding: $0, as: UTF8.self).contains("PRIVATE KEY") } ?? false
                if holdsKey { keys += 1 }
                #expect(
                    mode == 0o600, "\(rel)\(holdsKey ? " (a private key)" : "") has mode \(String(mode, radix: 8))",
                    sourceLocation: sourceLocation)
            }
            checked += 1
        }
        #expect(checked > 5 && keys >= 4, "checked \(checked) entries, \(keys) keys", sourceLocation: sourceLocation)
    }

    @Test func keysStayOffCommandLinesLogsAndTempFiles() async throws {
        let name = "ft-sec"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }

        // create, with --debug, while the host's process table is sampled.
        let w1 = try await Self.watchProcessTable(name)
        let create = try await rig.create("m", on: host)
        let ps1 = try await Self.stopWatching(name, w1)
        #expect(create.status == 0, "\(create.stderrText.suffix(3000))")
        #expect(create.stderrText.contains(" debug "), "--debug printed no debug lines")

        // regenerate-certs makes and installs a new server key: same checks.
        let oldServerKey = try String(contentsOfFile: rig.store + "/machines/m/server-key.pem", encoding: .utf8)
        let w2 = try await Self.watchProcessTable(name)
        let regen = try await rig.run(["regenerate-certs", "--debug", "-f", "m"])
        let ps2 = try await Self.stopWatching(name, w2)
        #expect(regen.status == 0, "\(regen.stderrText.suffix(3000))")
        let newServerKey = try String(contentsOfFile: rig.store + "/machines/m/server-key.pem", encoding: .utf8)
        #expect(newServerKey != oldServerKey, "regenerate-certs kept the old key")

        // The keys to look for: the store's (CA, client, server old and new) and our SSH key.
        var keys = Faults.keyLines(store: rig.store, extraKeys: [host.keyPath])
        keys += oldServerKey.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count >= 16 }.map(String.init)
        #expect(keys.count >= 10)
        Faults.expectNoKeyMaterial(ps1 + ps2, keys, in: "the host's process table")
        Faults.expectNoKeyMaterial(create.stderrText + create.stdoutText, keys, in: "create --debug output")
        Faults.expectNoKeyMaterial(regen.stderrText + regen.stdoutText, keys, in: "regenerate-certs --debug output")
        let inspect = try await rig.run(["inspect", "m"])
        Faults.expectNoKeyMaterial(inspect.stdoutText, keys, in: "inspect")

        // The local side: modes, no temp files.
        try Self.expectPrivateModes(rig.store)
        Faults.expectTmpClean(rig)
        try await Faults.expectStoreValid(rig.store)

        // The host: the server key is root's alone, and is the one in the store.
        let onHost = try await Fleet.run(
            name, "stat -c '%a %U %G' /etc/docker/swock/server-key.pem && cat /etc/docker/swock/server-key.pem")
        #expect(onHost.stdoutText == "600 root root\n" + newServerKey, "\(onHost.all)")
        let readable = try await rig.run(["ssh", "m", "--", "cat /etc/docker/swock/server-key.pem"])
        #expect(readable.status != 0 && !readable.stdoutText.contains("PRIVATE KEY"), "the login user can read the server key")
        try await Faults.expectHostClean(name)
        let stray = try await Fleet.run(name, "grep -rl 'PRIVATE KEY' /tmp /var/tmp /home /root 2>/dev/null; true")
        #expect(stray.stdoutText.isEmpty, "private keys lying around on the host: \(stray.stdoutText)")

        // The same for a re-run.
        let again = try await rig.run(["provision", "--debug", "m"])
        try await Faults.expectRerunFixed(again, rig, "m", host)
        Faults.expectNoKeyMaterial(again.stderrText, keys, in: "provision --debug output")
    }

    /// A user whose sudo asks for a password: create, restart and rm work with it, and it is
    /// on no command line (the host's process table is sampled throughout), in no --debug line,
    /// and only in one 0600 file of the store.
    @Test func sudoWithAPasswordKeepsItOffCommandLinesAndLogs() async throws {
        let name = "ft-sudopw"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let password = "pwsudo-pw"
        let base = [
            "create", "--debug", "--generic-ip-address", host.ip, "--generic-ssh-user", "pwsudo", "--generic-ssh-key", host.keyPath,
        ]

        let none = try await rig.run(base + ["m"])
        Faults.expectOneError(none, ["needs a password for sudo", "--generic-sudo-password-env"])
        let wrong = try await rig.run(base + ["--generic-sudo-password-stdin", "m"], stdin: Data("not-it\n".utf8))
        Faults.expectOneError(wrong, ["refused the password given for pwsudo"])
        #expect(!wrong.stderrText.contains("not-it"), "the wrong password was printed")

        let w = try await Self.watchProcessTable(name)
        let r = try await rig.run(base + ["--generic-sudo-password-env", "SWOCK_TEST_SUDO_PW", "m"], env: ["SWOCK_TEST_SUDO_PW": password])
        let restart = try await rig.run(["restart", "--debug", "m"])
        let ps = try await Self.stopWatching(name, w)
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        #expect(r.stderrText.contains("check-root: sudo with the given password works for pwsudo"), "\(r.stderrText.suffix(2000))")
        #expect(restart.status == 0, "\(restart.all)")
        try await Faults.expectDockerWorks(rig, "m", host)
        for (what, text) in [("create --debug output", r.all), ("restart --debug output", restart.all), ("the host's process table", ps)] {
            #expect(!text.contains(password), "\(what) shows the sudo password")
        }
        let file = rig.store + "/machines/m/sudo-password"
        #expect(FileManager.default.contents(atPath: file) == Data(password.utf8))
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        // The rest of a machine's life through that sudo: ls, env + docker, stop/start/restart,
        // regenerate-certs, and rm back to the unix socket.
        let tar = try await Fleet.busyboxTarball()
        try await MachineLife.expectState("m", "Running", rig.cli)
        try await MachineLife.expectDockerRuns("m", "through a sudo password", rig.cli, tar: tar, importing: true)
        try await MachineLife.stopStartRestartRegenerate("m", rig.cli, tar: tar)
        try await MachineLife.removeAndExpectUnixSocket("m", rig.cli, name: name, sysv: false)
    }

    /// Samples this machine's process table (every process's full command line) every 50 ms
    /// while `body` runs; returns what `body` returned and every sample.
    static func sampleLocalProcessTable<T: Sendable>(_ body: () async throws -> T) async throws -> (T, samples: [String]) {
        let stop = StopFlag(), log = ResultLog()
        let sampler = Task {
            while !stop.isSet {
                log.append("ps", try await Subprocess.run(["ps", "-ewwo", "args"]))
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let value: T
        do { value = try await body() } catch { stop.raise(); _ = await sampler.result; throw error }
        stop.raise()
        try await sampler.value
        return (value, log.all.map(\.1.stdoutText))
    }

    /// The password of a password-only host, given with --generic-ssh-password-env or
    /// --generic-ssh-password-stdin, is on no command line of this machine while create runs
    /// (its process table is sampled throughout), and create works with it. (The sampler is
    /// shown to see a process's arguments first.)
    @Test func sshPasswordFromTheEnvironmentOrStdinStaysOffTheLocalProcessTable() async throws {
        let name = "op-secpw"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        // A password of this run's own, so that no other process on this machine can show it.
        let password = "op-pw-\(UUID().uuidString.prefix(12))"
        let set = try await Fleet.run(name, "printf 'tester:%s\\n' \(password) | chpasswd")
        try #require(set.status == 0, "\(set.all)")
        let env = ["SSH_AUTH_SOCK": "", "HOME": rig.tmp]

        let marker = "op-marker-\(UUID().uuidString.prefix(8))"
        let (_, control) = try await Self.sampleLocalProcessTable {
            try await Subprocess.run(["sh", "-c", "sleep 1", marker])
        }
        #expect(control.contains { $0.contains(marker) }, "the sampler never saw a process's arguments (\(control.count) samples)")

        let base = ["create", "--debug", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester"]
        let (viaEnv, ps1) = try await Self.sampleLocalProcessTable {
            try await rig.run(
                base + ["--generic-ssh-password-env", "OP_TEST_SSH_PW", "m1"], env: env.merging(["OP_TEST_SSH_PW": password]) { $1 })
        }
        #expect(viaEnv.status == 0, "\(viaEnv.stderrText.suffix(3000))")
        #expect(viaEnv.stderrText.contains("install-ssh-key"), "\(viaEnv.stderrText.suffix(2000))")
        let (viaStdin, ps2) = try await Self.sampleLocalProcessTable {
            try await rig.run(base + ["--generic-ssh-password-stdin", "m2"], stdin: Data((password + "\n").utf8), env: env)
        }
        #expect(viaStdin.status == 0, "\(viaStdin.stderrText.suffix(3000))")
        // How often it was sampled depends on the machine's load; that it saw create is what counts.
        #expect(!ps1.isEmpty && !ps2.isEmpty, "the process table was sampled \(ps1.count) and \(ps2.count) times")
        #expect(ps1.contains { $0.contains("--generic-ssh-password-env") }, "the sampler never saw create running")
        for (what, text) in [
            ("the local process table during create (env)", ps1.joined()), ("the local process table during create (stdin)", ps2.joined()),
            ("create --debug output", viaEnv.all + viaStdin.all),
        ] {
            #expect(!text.contains(password), "\(what) shows the password")
        }
        // Both machines log in with their generated keys from now on.
        for m in ["m1", "m2"] {
            let ssh = try await rig.run(["ssh", m, "--", "echo via-key"], env: env)
            #expect(ssh.stdoutText == "via-key\n", "\(m): \(ssh.all)")
        }
    }

    /// A host that only takes a password: the password is never stored, printed, or put on a
    /// command line; the key generated for later logins is 0600.
    @Test func passwordBootstrapKeepsThePasswordAndTheGeneratedKeyPrivate() async throws {
        let name = "ft-secpw"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let password = "tester-pw"
        let w = try await Self.watchProcessTable(name)
        let r = try await rig.run(
            ["create", "--debug", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "m"],
            env: ["SWOCK_GENERIC_SSH_PASSWORD": password, "SSH_AUTH_SOCK": "", "HOME": rig.tmp])
        let ps = try await Self.stopWatching(name, w)
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        #expect(r.stderrText.contains("install-ssh-key"), "\(r.stderrText.suffix(2000))")

        let keyPath = rig.store + "/machines/m/id_ed25519"
        #expect(FileManager.default.fileExists(atPath: keyPath))
        let keys = Faults.keyLines(store: rig.store)
        for (what, text) in [("create --debug output", r.stderrText + r.stdoutText), ("the host's process table", ps)] {
            #expect(!text.contains(password), "\(what) shows the password")
            Faults.expectNoKeyMaterial(text, keys, in: what)
        }
        let storeText = (FileManager.default.enumerator(atPath: rig.store)?.allObjects.compactMap { $0 as? String } ?? [])
            .compactMap { FileManager.default.contents(atPath: rig.store + "/" + $0) }.map { String(decoding: $0, as: UTF8.self) }.joined()
        #expect(!storeText.contains(password), "the password was stored")
        try Self.expectPrivateModes(rig.store)
        // TMPDIR doubles as HOME here (no ~/.ssh keys to fall back on): only the docker CLI's bits may be there.
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: rig.tmp)) ?? []).filter { $0.hasPrefix("swock-create-") }
        #expect(left.isEmpty, "left in TMPDIR: \(left)")
        try await Faults.expectStoreValid(rig.store)

        // From now on the generated key logs in: no password needed.
        let ssh = try await rig.run(["ssh", "m", "--", "echo via-key"], env: ["SSH_AUTH_SOCK": "", "HOME": rig.tmp])
        #expect(ssh.stdoutText == "via-key\n", "\(ssh.all)")
        let authorized = try await Fleet.run(name, "cat /home/tester/.ssh/authorized_keys")
        #expect(
            authorized.stdoutText.split(separator: "\n").filter { $0.hasSuffix(" swock-machine m") }.count == 1,
            "the generated key is not authorized (once) on the host: \(authorized.stdoutText)")
        try await Faults.expectHostClean(name)
    }

    /// `rm` takes the generated key off the host: a copy of it (what an old export archive holds)
    /// no longer logs in over real SSH, while the other keys of the file still do, and the file
    /// keeps its other lines (an options-prefixed one too), its mode and its owner.
    @Test func rmRevokesTheGeneratedKeyAndNothingElse() async throws {
        let name = "pp-rmkey"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let noAgent = ["SSH_AUTH_SOCK": "", "HOME": rig.tmp]
        let r = try await rig.run(
            ["create", "--generic-ip-address", host.ip, "--generic-ssh-user", "tester", "m"],
            env: noAgent.merging(["SWOCK_GENERIC_SSH_PASSWORD": "tester-pw"]) { $1 })
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        // What an export taken now would carry: the generated private key.
        let oldKey = rig.tmp + "/old-id_ed25519"
        try FileManager.default.copyItem(atPath: rig.store + "/machines/m/id_ed25519", toPath: oldKey)
        chmod(oldKey, 0o600)

        // A key the user authorized after create (twice: plain, and with options), a non-default mode.
        let otherKey = rig.tmp + "/other"
        let gen = try await Subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "added-later", "-f", otherKey])
        try #require(gen.status == 0, "\(gen.all)")
        let other = try String(contentsOfFile: otherKey + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let auth = "/home/tester/.ssh/authorized_keys"
        try await Fleet.run(
            name,
            "printf '%s\\n' \(ShellQuote.quote(other)) \(ShellQuote.quote("from=\"10.231.0.0/16\" " + other)) >> \(auth) && chmod 640 \(auth)"
        )
        let before = try await Fleet.run(name, "cat \(auth)").stdoutText
        let ours = before.split(separator: "\n").filter { $0.hasSuffix(" swock-machine m") }
        #expect(ours.count == 1, "\(before)")
        #expect(try await Self.sshLogsIn(host, key: oldKey), "the generated key does not log in before rm")

        let rm = try await rig.run(["rm", "-y", "m"], env: noAgent)
        #expect(rm.status == 0, "\(rm.all)")
        #expect(!(try await Self.sshLogsIn(host, key: oldKey)), "the generated key still logs in after rm")
        #expect(try await Self.sshLogsIn(host, key: host.keyPath), "the fleet key no longer logs in after rm")
        #expect(try await Self.sshLogsIn(host, key: otherKey), "the key added later no longer logs in after rm")
        let after = try await Fleet.run(name, "cat \(auth)").stdoutText
        let expected = before.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasSuffix(" swock-machine m") }
            .joined(separator: "\n")
        #expect(after == expected, "before:\n\(before)\nafter:\n\(after)")
        let meta = try await Fleet.run(name, "stat -c '%a %U %G' \(auth)").stdoutText
        #expect(meta == "640 tester tester\n", "\(meta)")
    }

    /// A real login with the system's ssh client and only `key`.
    static func sshLogsIn(_ host: FleetHost, key: String) async throws -> Bool {
        let r = try await Subprocess.run([
            "ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", "PasswordAuthentication=no", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            "tester@\(host.ip)", "echo logged-in",
        ])
        if r.status == 0 { return r.stdoutText == "logged-in\n" }
        #expect(r.stderrText.contains("Permission denied"), "ssh failed otherwise: \(r.stderrText)")
        return false
    }
}
