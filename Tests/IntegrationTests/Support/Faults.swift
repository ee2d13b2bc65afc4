import FleetSupport
import Foundation
import SwockSupport
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

        func run(_ args: [String], stdin: Data? = nil, env extra: [String: String] = [:]) async throws -> Subprocess.Result {
            try await cli.run(args, stdin: stdin, env: ["TMPDIR": tmp].merging(extra) { _, new in new })
        }

        /// `create --debug` for a fleet host, with the fleet's client key.
        func createArgs(_ name: String, on host: FleetHost, user: String? = nil, extra: [String] = []) -> [String] {
            [
                "create", "--debug", "--driver", "generic", "--generic-ip-address", host.ip,
                "--generic-ssh-user", user ?? host.user, "--generic-ssh-key", host.keyPath,
            ] + extra + [name]
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
            ((config(name)?["provisioning"] as? [String: Any])?["stepsDone"] as? [[String: Any]])?.compactMap { $0["step"] as? String }
                ?? []
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
        let lines = stderr.textLines().map(String.init)
        let errors = lines.filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1, "expected exactly one Error: line in: \(stderr.suffix(3000))", sourceLocation: sourceLocation)
        #expect(
            lines.last?.hasPrefix("Error:") == true, "the Error: line is not the last line of stderr: \(stderr.suffix(3000))",
            sourceLocation: sourceLocation)
        let line = errors.first ?? ""
        for n in needles {
            #expect(line.contains(n), "expected \"\(n)\" in: \(line)", sourceLocation: sourceLocation)
        }
    }

    static func errorLine(_ r: Subprocess.Result) -> String {
        errorLine(r.stderrText)
    }

    static func errorLine(_ stderr: String) -> String {
        stderr.textLines().map(String.init).first { $0.hasPrefix("Error:") } ?? ""
    }

    // MARK: The store

    /// Every config.json parses; every machine's server.pem and cert.pem verify against the
    /// store's CA (a ready machine must have both); no half-written temp file, no half-removed
    /// machine directory.
    static func expectStoreValid(_ store: String, skipping: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let fm = FileManager.default
        if let e = fm.enumerator(atPath: store) {
            while let rel = e.nextObject() as? String {
                let base = (rel as NSString).lastPathComponent
                #expect(
                    !base.contains(".tmp-") && !base.hasPrefix(".removing-"), "leftover in the store: \(rel)",
                    sourceLocation: sourceLocation)
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

    static func expectNoKeyMaterial(
        _ text: String, _ keyLines: [String], in what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!keyLines.isEmpty, "no key material to look for", sourceLocation: sourceLocation)
        #expect(!text.contains("PRIVATE KEY"), "\(what) shows a PEM private key", sourceLocation: sourceLocation)
        let leaked = keyLines.filter { text.contains($0) }
        #expect(
            leaked.isEmpty,
            "\(what) holds \(leaked.count) line(s) of key material, e.g. \(leaked.first.map { String($0.prefix(10)) + "..." } ?? "")",
            sourceLocation: sourceLocation)
    }

    // MARK: The host

    /// No staging dir of `installAsRoot` and no SFTP upload temp left on the host.
    static func expectHostClean(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let r = try await Fleet.run(
            name,
            """
            ls -d /tmp/swock.* 2>/dev/null; \
            find /etc/docker /etc/systemd/system \\( -name '.*.swock-*' -o -name '*.swock-new' \\) 2>/dev/null; true
            """)
        #expect(r.stdoutText.isEmpty, "left on \(name): \(r.stdoutText)", sourceLocation: sourceLocation)
    }

    /// After a connection was cut mid-command nobody could clean up on the host; whatever is
    /// left must at least hold no private key.
    static func expectNoKeyLeftOnHost(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let r = try await Fleet.run(
            name,
            """
            grep -rl 'PRIVATE KEY' /tmp/swock.* 2>/dev/null; \
            find /etc/docker /etc/systemd/system \\( -name '.*.swock-*' -o -name '*.swock-new' \\) -exec grep -l 'PRIVATE KEY' {} + 2>/dev/null; true
            """)
        #expect(r.stdoutText.isEmpty, "a private key was left in a temp file on \(name): \(r.stdoutText)", sourceLocation: sourceLocation)
    }

    /// Polls a shell condition on the host (as root) until it holds.
    static func waitOnHost(_ name: String, _ condition: String, timeout: Duration, while alive: @Sendable () -> Bool = { true })
        async throws -> Bool
    {
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
    static func arm(_ name: String, when condition: String, do action: String, seconds: Int = 180) async throws -> Task<
        Subprocess.Result, Error
    > {
        let marker = "/run/ft-armed-\(UUID().uuidString.prefix(8))"
        let task = Task {
            try await Fleet.run(
                name,
                """
                touch \(marker); i=0
                while ! { \(condition); }; do i=$((i+1)); [ $i -gt \(seconds * 50) ] && { echo watcher-timeout; exit 1; }; sleep 0.02; done
                \(action); echo fired
                """)
        }
        _ = try await waitOnHost(name, "test -e \(marker)", timeout: .seconds(30))
        return task
    }

    /// The docker CLI reaches the machine over mutual TLS.
    static func expectDockerWorks(_ rig: Rig, _ machine: String, _ host: FleetHost, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let v = try await rig.cli.docker(["version", "--format", "{{.Server.Version}}"], machine: machine, host: host)
        #expect(v.status == 0 && !v.stdoutText.isEmpty, "docker against \(machine): \(v.all)", sourceLocation: sourceLocation)
    }

    /// Everything a successful re-run must leave: ready record, valid store, docker works, no
    /// staging left locally, no key in the debug output.
    static func expectRerunFixed(
        _ r: Subprocess.Result, _ rig: Rig, _ machine: String, _ host: FleetHost,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(r.status == 0, "the re-run did not complete: \(r.stderrText.suffix(3000))", sourceLocation: sourceLocation)
        #expect(rig.phase(machine) == "ready", sourceLocation: sourceLocation)
        try await expectStoreValid(rig.store, sourceLocation: sourceLocation)
        try await expectDockerWorks(rig, machine, host, sourceLocation: sourceLocation)
        expectTmpClean(rig, sourceLocation: sourceLocation)
        expectNoKeyMaterial(
            r.stderrText + r.stdoutText, keyLines(store: rig.store, extraKeys: [host.keyPath]), in: "the --debug output",
            sourceLocation: sourceLocation)
    }
}
