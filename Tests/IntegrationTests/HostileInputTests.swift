import FleetSupport
import Foundation
import SwockStore
import Testing

/// User input that a shell, systemd or a path would love to interpret: it must reach dockerd
/// byte for byte and never run.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct HostileInputTests {
    /// A marker file that hostile input would create if any shell ever ran it.
    static func pwnedPath() -> String { "/tmp/swock-pwned-\(UUID().uuidString.prefix(8))" }

    static func values(_ pwned: String) -> [String] {
        [
            "it's \"quoted\" and  spaced",
            "$(touch \(pwned))",
            "`touch \(pwned)`",
            "; touch \(pwned); #",
            "line1\nline2",
            "tab\there $HOME ${PATH} %n %% %h back\\slash trailing\\",
            "&& touch \(pwned) &",
            "é ünïcode ✓ | >x <y *",
        ]
    }

    @Test func hostileValuesArriveByteExactAndNeverRun() async throws {
        let name = "ft-hostile"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let pwned = Self.pwnedPath()
        defer { try? FileManager.default.removeItem(atPath: pwned) }
        let values = Self.values(pwned)
        var extra: [String] = []
        for (i, v) in values.enumerated() {
            extra += [
                "--engine-label", "el\(i)=\(v)", "--label", "ml\(i)=\(v)", "--engine-env", "EE\(i)=\(v)", "--engine-opt",
                "label=eo\(i)=\(v)",
            ]
        }
        let r = try await rig.create("m", on: host, extra: extra)
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")

        // The record keeps them as given.
        let inspect = try await rig.run(["inspect", "m"])
        let record = try JSONSerialization.jsonObject(with: inspect.stdout) as! [String: Any]
        let engine = record["engine"] as! [String: Any]
        #expect(engine["labels"] as? [String] == values.indices.map { "el\($0)=\(values[$0])" })
        #expect(engine["environment"] as? [String] == values.indices.map { "EE\($0)=\(values[$0])" })
        #expect(engine["options"] as? [String] == values.indices.map { "label=eo\($0)=\(values[$0])" })
        #expect(record["labels"] as? [String: String] == Dictionary(uniqueKeysWithValues: values.indices.map { ("ml\($0)", values[$0]) }))

        // dockerd's argv: every label one argument, byte-exact.
        let cmdline = try await Fleet.run(name, "cat /proc/$(pidof dockerd)/cmdline")
        let argv = Self.nulFields(cmdline.stdout)
        for (i, v) in values.enumerated() {
            for prefix in ["el", "ml", "eo"] {
                #expect(
                    argv.contains("--label=\(prefix)\(i)=\(v)"),
                    "--label=\(prefix)\(i)=\(v.debugDescription) is not one argument of dockerd: \(argv)")
            }
        }
        // dockerd's environment.
        let environ = try await Fleet.run(name, "cat /proc/$(pidof dockerd)/environ")
        let envFields = Self.nulFields(environ.stdout)
        for (i, v) in values.enumerated() {
            #expect(envFields.contains("EE\(i)=\(v)"), "EE\(i)=\(v.debugDescription) is not in dockerd's environment: \(envFields)")
        }
        // The engine reports them (over mutual TLS, through the docker CLI).
        let info = try await rig.cli.docker(["info", "--format", "{{json .Labels}}"], machine: "m", host: host)
        #expect(info.status == 0, "\(info.all)")
        let labels = (try? JSONSerialization.jsonObject(with: info.stdout)) as? [String] ?? []
        for (i, v) in values.enumerated() {
            for prefix in ["el", "ml", "eo"] {
                #expect(labels.contains("\(prefix)\(i)=\(v)"), "docker info lacks \(prefix)\(i)=\(v.debugDescription): \(labels)")
            }
        }
        // The drop-in: no value broke out of its line.
        let dropIn = try await Fleet.run(name, "cat /etc/systemd/system/docker.service.d/10-swock-machine.conf")
        let lines = dropIn.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        for l in lines {
            #expect(["#", "[Service]", "Environment=", "ExecStart="].contains { l.hasPrefix($0) }, "a stray line in the drop-in: \(l)")
        }
        #expect(lines.filter { $0.hasPrefix("Environment=") }.count == values.count, "\(dropIn.stdoutText)")
        #expect(lines.filter { $0.hasPrefix("ExecStart=") }.count == 2, "\(dropIn.stdoutText)")

        // Nothing ran, here or there.
        let there = try await Fleet.run(name, "test -e \(pwned) && echo PWNED; true")
        #expect(there.stdoutText.isEmpty, "hostile input ran on the host")
        #expect(!FileManager.default.fileExists(atPath: pwned), "hostile input ran locally")

        // rm copes with the same record.
        let rm = try await rig.run(["rm", "-y", "m"])
        #expect(rm.status == 0, "\(rm.all)")
        let after = try await Fleet.run(
            name,
            "test -e /etc/systemd/system/docker.service.d/10-swock-machine.conf && echo dropin-left; test -e \(pwned) && echo PWNED; true")
        #expect(after.stdoutText.isEmpty, "\(after.stdoutText)")
        try await Faults.expectStoreValid(rig.store)
        Faults.expectTmpClean(rig)
        try await Faults.expectHostClean(name)
    }

    @Test func machineNamesWithShellMetacharactersAreRefused() async throws {
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let pwned = Self.pwnedPath()
        defer { try? FileManager.default.removeItem(atPath: pwned) }
        // A store with a CA in it, so that a name that walks out of machines/ would find something.
        _ = try Store(root: rig.store).ensureCA()
        let before = rig.cli.snapshot()
        let names = [
            "a;touch \(pwned)", "$(touch \(pwned))", "`touch \(pwned)`", "a b", "../certs", "..", ".", "a/b",
            "x\ny", "a\u{1b}[2Jb", "a|b", "a&b", "*", "é", "a'b", "a\"b", "a\\b", "a$b", String(repeating: "a", count: 64),
        ]
        for n in names {
            let commands: [[String]] = [
                ["create", "--generic-ip-address", "10.231.254.254", n],
                ["env", n], ["inspect", n], ["ip", n], ["url", n], ["status", n], ["config", n],
                ["provision", n], ["ssh", n, "--", "true"], ["rm", "-y", n], ["rm", "-y", "-f", n],
                ["regenerate-certs", "-f", n], ["use", n],
            ]
            let control = n.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
            let results = try await withThrowingTaskGroup(of: ([String], Subprocess.Result).self) { g in
                for args in commands { g.addTask { (args, try await rig.run(args)) } }
                var out: [([String], Subprocess.Result)] = []
                for try await r in g { out.append(r) }
                return out
            }
            for (args, r) in results {
                #expect(r.status == 1, "\(args.debugDescription): \(r.all)")
                #expect(Faults.errorLine(r).contains("invalid machine name"), "\(args.debugDescription): \(r.all)")
                if !control { Faults.expectOneError(r, ["invalid machine name"]) }
            }
            if control {
                // Judged once per name, not per command.
                let clean = results.allSatisfy { _, r in
                    let lines = r.stderrText.split(separator: "\n")
                    return lines.count == 1 && lines[0].hasPrefix("Error:")
                        && !r.stderrText.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
                }
                #expect(clean, "\(n.debugDescription): \(results.first.map { $0.1.stderrText.debugDescription } ?? "")")
            }
        }
        #expect(rig.cli.snapshot() == before, "a refused name changed the store")
        #expect(!FileManager.default.fileExists(atPath: pwned), "a name ran as a command")
        #expect(FileManager.default.fileExists(atPath: rig.store + "/certs/ca-key.pem"))
        Faults.expectTmpClean(rig)
    }

    /// The store's own path (spaces, quotes, `$(...)`, backticks, `;`, `&`, `|`) survives every
    /// place it is printed: `env` for sh and bash (evaluated), config, docker contexts.
    @Test func hostileStorePathWorksEndToEnd() async throws {
        let name = "ft-hpath"
        let host = try await Fleet.fresh(name, variant: "docker")
        let rig = try Faults.Rig()
        defer { rig.cleanup() }
        let pwned = Self.pwnedPath()
        defer { try? FileManager.default.removeItem(atPath: pwned) }
        let store =
            NSTemporaryDirectory() + "ft store 'q' \"d\" $(touch \(pwned)) `touch \(pwned)` ; & | $HOME \(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: store) }
        let env = ["SWOCK_MACHINE_STORAGE_PATH": store]

        // (Docker context names need two characters.)
        let r = try await rig.run(rig.createArgs("hp", on: host), env: env)
        #expect(r.status == 0, "\(r.stderrText.suffix(3000))")
        #expect(FileManager.default.fileExists(atPath: store + "/machines/hp/config.json"))

        var shellEnv = ProcessInfo.processInfo.environment
        for k in ["DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT"] { shellEnv.removeValue(forKey: k) }
        shellEnv["DOCKER_CONFIG"] = rig.cli.dockerConfig
        for shell in ["bash", "sh"] {
            let e = try await rig.run(["env", "--shell", shell, "hp"], env: env)
            #expect(e.status == 0, "\(e.all)")
            let script = "eval \"$1\" && printf '%s' \"$DOCKER_CERT_PATH\" && echo && docker version --format '{{.Server.Version}}'"
            let run = try await Subprocess.run([shell == "bash" ? "bash" : "sh", "-c", script, shell, e.stdoutText], environment: shellEnv)
            #expect(run.status == 0, "\(shell): \(run.all)")
            let out = run.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(out.first == store + "/machines/hp", "\(shell) saw DOCKER_CERT_PATH as \(out.first ?? "")")
            #expect((out.dropFirst().first ?? "").hasPrefix("20."), "\(run.all)")
        }
        // docker $(swock-machine config m), one flag a line.
        let config = try await rig.run(["config", "hp"], env: env)
        #expect(config.status == 0, "\(config.all)")
        let flags = config.stdoutText.split(separator: "\n").map(String.init)
        let viaConfig = try await Subprocess.run(
            ["docker"] + flags + ["version", "--format", "{{.Server.Version}}"], environment: shellEnv)
        #expect(viaConfig.status == 0, "\(flags): \(viaConfig.all)")
        // The docker context create wrote points at the same files.
        let ctx = try await Subprocess.run(
            ["docker", "--context", "hp", "version", "--format", "{{.Server.Version}}"], environment: shellEnv)
        #expect(ctx.status == 0, "\(ctx.all)")

        let ls = try await rig.run(["ls", "--format", "{{.Name}} {{.State}}"], env: env)
        #expect(ls.stdoutText == "hp Running\n", "\(ls.all)")
        #expect(!FileManager.default.fileExists(atPath: pwned), "the store path ran as a command")
        let there = try await Fleet.run(name, "test -e \(pwned) && echo PWNED; true")
        #expect(there.stdoutText.isEmpty)
        try await Faults.expectStoreValid(store)
        Faults.expectTmpClean(rig)
        let rm = try await rig.run(["rm", "-y", "hp"], env: env)
        #expect(rm.status == 0, "\(rm.all)")
    }

    static func nulFields(_ data: Data) -> [String] {
        var fields = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if fields.last == "" { fields.removeLast() }
        return fields
    }
}
