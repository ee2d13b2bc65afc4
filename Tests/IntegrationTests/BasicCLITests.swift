import FleetSupport
import Foundation
import Testing

/// The binary's own surface, no hosts needed.
@Suite struct BasicCLITests {
    @Test func versionAndHelp() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let v = try await cli.run(["--version"])
        #expect(v.status == 0)
        #expect(v.stdoutText.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(v.stdoutText)")
        let help = try await cli.run(["--help"])
        #expect(help.status == 0)
        for verb in [
            "create", "provision", "rm", "ls", "inspect", "ip", "url", "status", "env", "config", "active", "use",
            "ssh", "scp", "stop", "start", "restart", "kill", "upgrade", "regenerate-certs", "version", "exec", "docker", "export",
            "import", "completion", "swarm", "tunnel",
        ] {
            #expect(help.stdoutText.contains("  \(verb) "), "--help lacks \(verb)")
        }
        let create = try await cli.run(["create", "--help"])
        for flag in [
            "--generic-ip-address", "--generic-ssh-user", "--generic-ssh-key", "--generic-ssh-port", "--generic-engine-port",
            "--engine-opt", "--engine-label", "--engine-env", "--tls-san", "--storage-path", "--debug",
        ] {
            #expect(create.stdoutText.contains(flag), "create --help lacks \(flag)")
        }
        let bad = try await cli.run(["frobnicate"])
        #expect(bad.status != 0)
    }

    /// Every page ends with its EXAMPLES (two or three invocations of that very command), after
    /// the options, whether asked with --help or with `help CMD`.
    @Test func everyHelpPageEndsWithExamples() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let verbs = [
            "create", "provision", "rm", "inspect", "stop", "start", "restart", "kill", "upgrade", "regenerate-certs",
            "ls", "env", "config", "ip", "url", "status", "active", "use", "ssh", "scp", "version", "exec", "docker",
            "export", "import", "completion", "tunnel", "mount", "swarm", "swarm init", "swarm join", "swarm leave", "swarm ls",
        ]
        for args in [["--help"]] + verbs.map { $0.split(separator: " ").map(String.init) + ["--help"] } + [["help", "ls"]] {
            let r = try await cli.run(args)
            #expect(r.status == 0, "\(args): \(r.all)")
            let blocks = r.stdoutText.components(separatedBy: "\n\n")
            let last = blocks.last?.split(separator: "\n").map(String.init) ?? []
            #expect(last.first == "EXAMPLES:", "\(args): the page does not end with EXAMPLES: \(r.stdoutText.suffix(400))")
            let examples = last.dropFirst()
            #expect((2...3).contains(examples.count), "\(args): \(examples.count) examples")
            let verb = args.filter { $0 != "help" && $0 != "--help" }.joined(separator: " ")
            for e in examples where !verb.isEmpty {
                #expect(e.contains("swock-machine \(verb)"), "\(args): an example of another command: \(e)")
            }
            #expect(r.stdoutText.contains("USAGE: "), "\(args)")
            #expect(
                r.stdoutText.range(of: "USAGE: ")!.lowerBound < r.stdoutText.range(of: "EXAMPLES:")!.lowerBound,
                "\(args): EXAMPLES come before USAGE")
        }
    }

    /// docs/command-reference.md is what the built binary's --help says, page for page.
    @Test func commandReferenceIsUpToDate() async throws {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_BIN"] = CLI.binary
        let r = try await Subprocess.run([Fleet.repoRoot + "/scripts/command-reference", "--check"], environment: env)
        #expect(r.status == 0, "run scripts/command-reference and commit docs/command-reference.md:\n\(r.all.suffix(3000))")
    }

    @Test func emptyStoreAnswersPlainly() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let ls = try await cli.run(["ls"])
        #expect(ls.status == 0)
        #expect(ls.stdoutText == "NAME   ACTIVE   DRIVER   STATE   URL   DOCKER   ERRORS\n")
        let env = try await cli.run(["env", "nope"])
        #expect(env.status == 1)
        #expect(env.stderrText == "Error: Docker machine \"nope\" does not exist; `swock-machine ls` lists the machines")
        let active = try await cli.run(["active"])
        #expect(active.status == 1)
        #expect(active.stderrText.contains("No active host found"))
        let badName = try await cli.run(["inspect", "../etc"])
        #expect(badName.status == 1)
        #expect(badName.stderrText.contains("invalid machine name"))
        // -s wins over the environment.
        let other = NSTemporaryDirectory() + "swock-s-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(try await cli.run(["-s", other, "use", "--unset"]).status == 0 || true)
        let ls2 = try await cli.run(["ls", "-s", other])
        #expect(ls2.status == 0)
    }

    /// create reads Docker Machine's GENERIC_* variables when the flag is not given.
    @Test func genericSettingsFromTheEnvironment() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let bad = try await cli.run(["create", "x"], env: ["GENERIC_IP_ADDRESS": "127.0.0.1", "GENERIC_SSH_PORT": "ssh"])
        #expect(
            bad.status == 64
                && bad.stderrText == "Error: GENERIC_SSH_PORT=\"ssh\" is not a port number (1-65535); fix or unset it, or pass the flag",
            "\(bad.all)")
        // Nothing listens on 127.0.0.1:1: the refusal names where the variables pointed.
        let refused = try await cli.run(
            ["create", "x"], env: ["GENERIC_IP_ADDRESS": "127.0.0.1", "GENERIC_SSH_PORT": "1", "GENERIC_SSH_USER": "envuser"])
        #expect(refused.status == 1 && refused.stderrText.contains("cannot connect to 127.0.0.1 port 1:"), "\(refused.all)")
        let flagWins = try await cli.run(
            ["create", "--generic-ssh-port", "2", "x"], env: ["GENERIC_IP_ADDRESS": "127.0.0.1", "GENERIC_SSH_PORT": "1"])
        #expect(flagWins.stderrText.contains("cannot connect to 127.0.0.1 port 2:"), "\(flagWins.all)")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x"))
        let help = try await cli.run(["create", "--help"])
        let helpText = help.stdoutText.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for v in ["GENERIC_IP_ADDRESS", "GENERIC_SSH_USER", "GENERIC_SSH_KEY", "GENERIC_SSH_PORT", "GENERIC_ENGINE_PORT"] {
            #expect(helpText.contains("env: \(v))"), "\(v)")
        }
    }

    /// Secrets never as arguments, never from just any variable: `--generic-ssh-password` is
    /// refused with one line naming its replacements, and a fleet file that names a variable
    /// outside SWOCK_* / *_SUDO_PASSWORD as a sudo password is refused with one line naming the
    /// variable and the rule; nothing is written, no host is contacted (192.0.2.0/24 is TEST-NET).
    @Test func secretsComeNeitherFromArgumentsNorFromOtherVariables() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let before = cli.snapshot()
        let flag = try await cli.run(["create", "--generic-ip-address", "192.0.2.1", "--generic-ssh-password", "hunter2-x", "m"])
        Faults.expectOneError(flag, ["--generic-ssh-password", "ps", "--generic-ssh-password-env VAR", "--generic-ssh-password-stdin"])
        #expect(!flag.all.contains("hunter2-x"), "the password was printed")
        let both = try await cli.run(
            ["create", "--generic-ip-address", "192.0.2.1", "--generic-ssh-password-stdin", "--generic-sudo-password-stdin", "m"],
            stdin: Data("a\nb\n".utf8))
        Faults.expectOneError(both, ["cannot both read stdin"])
        let unset = try await cli.run(
            ["create", "--generic-ip-address", "192.0.2.1", "--generic-ssh-password-env", "OP_UNSET_PW", "m"],
            env: ["OP_UNSET_PW": ""])
        Faults.expectOneError(unset, ["--generic-ssh-password-env OP_UNSET_PW", "not set or is empty"])
        let noStdin = try await cli.run(
            ["create", "--generic-ip-address", "192.0.2.1", "--generic-ssh-password-stdin", "m"], stdin: Data())
        Faults.expectOneError(noStdin, ["--generic-ssh-password-stdin", "stdin gave nothing"])

        let dir = NSTemporaryDirectory() + "op-fleet-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "machines: [{name: a, address: 192.0.2.1, sudo-password-env: AWS_SECRET_ACCESS_KEY}]\n"
            .write(toFile: dir + "/fleet.yml", atomically: true, encoding: .utf8)
        let fleet = try await cli.run(["create", "-f", dir + "/fleet.yml"], env: ["AWS_SECRET_ACCESS_KEY": "cloud-secret-x"])
        Faults.expectOneError(
            fleet, ["sudo-password-env AWS_SECRET_ACCESS_KEY is not allowed", "start with SWOCK_ or end in _SUDO_PASSWORD"])
        #expect(!fleet.all.contains("cloud-secret-x"), "the variable's value was printed")
        #expect(cli.snapshot() == before, "a refused create wrote to the store")
    }

    /// Option values with fixed spellings are checked by ArgumentParser: a usage error (64)
    /// naming the accepted values, before anything is read or written.
    @Test func badOptionValuesAreUsageErrors() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let create = ["create", "--generic-ip-address", "192.0.2.1", "x"]
        for (command, flag, value, values) in [
            (create, "--engine-install", "maybe", "'auto', 'none' or 'bundle:PATH'"),
            (create, "--tls-key-type", "dsa", "'ecdsa' and 'rsa'"),
            (create, "--ssh-host-key", "yes", "'strict' and 'accept-new'"),
            (["env"], "--shell", "ksh", "- powershell"),
            (["exec", "--all", "--", "true"], "--format", "xml", "'text' and 'json'"),
        ] {
            let args = [command[0], flag, value] + command.dropFirst()
            let r = try await cli.run(args)
            #expect(r.status == 64, "\(args): \(r.all)")
            #expect(r.stderrText.hasPrefix("Error: The value '\(value)' is invalid for '\(flag) <"), "\(args): \(r.stderrText)")
            #expect(r.stderrText.contains(values), "\(args): \(r.stderrText)")
        }
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/x"))
        // Every spelling of a key type that worked before still parses (the name check comes after).
        for k in ["ecdsa", "ECDSA", "ecdsa-p256", "p256", "rsa", "rsa-2048", "rsa2048"] {
            let r = try await cli.run(["create", "--tls-key-type", k, "--generic-ip-address", "192.0.2.1", "bad name"])
            #expect(r.status == 1 && r.stderrText.contains("invalid machine name"), "\(k): \(r.all)")
        }
    }
}
