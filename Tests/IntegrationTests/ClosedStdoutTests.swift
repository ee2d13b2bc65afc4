import FleetSupport
import Foundation
import SwockStore
import Testing

/// Every subcommand, run with its stdout a pipe whose reader is already gone (as in
/// `swock-machine ls | head -0`), against a store holding a real machine and two records whose
/// host cannot be logged into: the command ends quietly. It dies of SIGPIPE (a shell shows
/// 141) or exits with its own status; never another signal (132/134: a Swift trap), never a
/// crash report on stderr.
@Suite(.serialized, .enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct ClosedStdoutTests {
    struct Outcome {
        var signal: Int32?
        var status: Int32?
        var stderr: String
        var text: String { signal.map { "killed by signal \($0)" } ?? "exit \(status ?? -1)" }
    }

    /// Runs the binary with stdout the write end of a pipe whose read end is closed, stdin
    /// /dev/null, and stderr collected.
    static func runClosedStdout(_ cli: CLI, _ args: [String], stdin: Data? = nil) async throws -> Outcome {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        env["DOCKER_CONFIG"] = cli.dockerConfig
        env.removeValue(forKey: "DOCKER_HOST")
        let environment = env
        return try await withCheckedThrowingContinuation { cont in
            Thread {
                // Test runner threads block every signal and children inherit the mask.
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
                do {
                    var fds: [Int32] = [0, 0]
                    guard pipe(&fds) == 0 else { throw Fleet.Failure(description: "pipe: \(errno)") }
                    close(fds[0])  // the reader is gone before the child writes anything
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: CLI.binary)
                    p.arguments = args
                    p.environment = environment
                    let err = Pipe(), inp = Pipe()
                    p.standardOutput = FileHandle(fileDescriptor: fds[1], closeOnDealloc: false)
                    p.standardError = err
                    p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
                    try p.run()
                    close(fds[1])
                    if let stdin {
                        let w = inp.fileHandleForWriting
                        Thread {
                            try? w.write(contentsOf: stdin); try? w.close()
                        }.start()
                    }
                    let errData = err.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    let signaled = p.terminationReason == .uncaughtSignal
                    cont.resume(
                        returning: Outcome(
                            signal: signaled ? p.terminationStatus : nil,
                            status: signaled ? nil : p.terminationStatus,
                            stderr: String(decoding: errData, as: UTF8.self)))
                } catch {
                    cont.resume(throwing: error)
                }
            }.start()
        }
    }

    /// What a run may end with: `.pipe` for a command that prints on stdout when it works (it
    /// must die of SIGPIPE), `.any` for one that may fail first or print nothing (its own exit
    /// status, or SIGPIPE).
    enum Expect { case pipe, any }

    static func check(_ cli: CLI, _ args: [String], _ expect: Expect, stdin: Data? = nil) async throws {
        let o = try await runClosedStdout(cli, args, stdin: stdin)
        let label = "swock-machine \(args.joined(separator: " ")): \(o.text)"
        for crash in ["Fatal error", "Program crashed", "Backtrac", "Illegal instruction", "unexpectedly raised", "Broken pipe"] {
            #expect(!o.stderr.contains(crash), "\(label): \(o.stderr.prefix(600))")
        }
        switch expect {
        case .pipe:
            #expect(o.signal == SIGPIPE, "\(label): \(o.stderr.prefix(600))")
        case .any:
            if let s = o.signal {
                #expect(s == SIGPIPE, "\(label): \(o.stderr.prefix(600))")
            } else {
                // Its own failure status (1, 64 for usage, a remote command's) never a trap's.
                #expect(o.status.map { $0 < 128 } ?? false, "\(label): \(o.stderr.prefix(600))")
            }
        }
    }

    static let verbs = [
        "create", "provision", "rm", "inspect", "stop", "start", "restart", "kill", "upgrade", "regenerate-certs",
        "ls", "env", "config", "ip", "url", "status", "active", "use", "ssh", "scp", "mount", "tunnel", "version",
        "completion", "exec", "docker", "swarm", "swarm init", "swarm join", "swarm leave", "swarm ls",
        "export", "import",
    ]

    /// Help pages, usage errors and the commands that need no host.
    @Test func helpAndLocalCommands() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        for n in ["web1", "web2", "db1"] {
            var r = CompletionTests.record(n)
            r.provisioning.phase = .ready
            try Store(root: cli.store).reserve(r)
        }
        for args in [["--help"], ["-h"], ["help"], ["--version"], ["help", "ls"], ["help", "swarm", "init"]]
            + Self.verbs.map({ $0.split(separator: " ").map(String.init) + ["--help"] })
        {
            try await Self.check(cli, args, .pipe)
        }
        for shell in ["bash", "zsh", "fish"] { try await Self.check(cli, ["completion", shell], .pipe) }
        for args in [
            ["ls", "-q"], ["ls", "--format", "{{.Name}}"], ["ip", "web1", "web2"], ["url", "web1"],
            ["env", "--unset"], ["config", "web1"], ["inspect", "web1"], ["version"], ["use", "web1"], ["active"],
        ] {
            if args == ["use", "web1"] { try await Self.check(cli, args, .any); continue }  // says so on stderr
            try await Self.check(cli, args, .pipe)
        }
        for args in [
            ["frobnicate"], ["ls", "--bogus"], ["completion", "tcsh"], ["env", "nope"], ["inspect", "../etc"],
            ["env", "web1"],
        ] {  // no certificates in these records: a plain error
            try await Self.check(cli, args, .any)
        }
    }

    /// A number of seconds that cannot become a Duration (inf, nan, 1e300) was a trap (exit
    /// 132) in ls, status, exec and docker; it is a usage error naming the flag.
    @Test func timeoutsOutOfRangeAreUsageErrors() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        var r = CompletionTests.record("web1")
        r.provisioning.phase = .ready
        try Store(root: cli.store).reserve(r)
        for args in [
            ["ls", "-t", "1e300"], ["ls", "-t", "nan"], ["ls", "--timeout", "inf"], ["status", "-t", "inf", "web1"],
            ["status", "-t", "1e300", "web1"], ["exec", "--timeout", "1e300", "web1", "--", "true"],
            ["docker", "--timeout", "1e300", "web1", "--", "ps"], ["exec", "--timeout", "nan", "web1", "--", "true"],
        ] {
            let o = try await cli.run(args)
            #expect(o.status == 64, "\(args): \(o.status) \(o.stderrText.prefix(300))")
            #expect(o.stderrText.hasPrefix("Error: --timeout must be a number of seconds"), "\(args): \(o.stderrText.prefix(300))")
            #expect(!o.stderrText.contains("Fatal error"), "\(args)")
        }
    }

    /// Every subcommand against a real machine (and two records whose key is missing), the
    /// ones that change the machine last.
    @Test func everySubcommandOnARealMachine() async throws {
        let host = try await Fleet.fresh("pp-closed1", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        let made = try await cli.create("pp1", on: host)
        try #require(made.status == 0, "\(made.all)")
        for n in ["gone1", "gone2"] {
            var r = CompletionTests.record(n)
            r.address = host.ip
            r.provisioning.phase = .ready
            try Store(root: cli.store).reserve(r)
        }
        let dir = NSTemporaryDirectory() + "pp-closed-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        try await Self.check(cli, ["ls"], .pipe)
        try await Self.check(cli, ["ls", "-q"], .pipe)
        try await Self.check(cli, ["ls", "--format", "json"], .any)
        try await Self.check(cli, ["status", "pp1"], .pipe)
        try await Self.check(cli, ["inspect", "pp1"], .pipe)
        try await Self.check(cli, ["env", "pp1"], .pipe)
        try await Self.check(cli, ["env", "--check", "pp1"], .pipe)
        try await Self.check(cli, ["config", "pp1"], .pipe)
        try await Self.check(cli, ["ip", "pp1"], .pipe)
        try await Self.check(cli, ["url", "--check", "pp1"], .pipe)
        try await Self.check(cli, ["version", "pp1"], .pipe)
        try await Self.check(cli, ["use", "pp1"], .any)
        try await Self.check(cli, ["active"], .pipe)
        try await Self.check(cli, ["ssh", "pp1", "--", "seq 1 200000"], .pipe)
        try await Self.check(cli, ["ssh", "pp1", "--", "true"], .any)
        try await Self.check(cli, ["scp", "pp1:/etc/os-release", dir + "/os-release"], .any)
        try await Self.check(cli, ["tunnel", "pp1"], .any)
        try await Self.check(cli, ["mount", "pp1:/etc", dir + "/no-such-dir"], .any)
        // Fleet output: many lines from each machine, text and json, and the summary.
        try await Self.check(cli, ["exec", "--all", "--", "seq 1 200000"], .pipe)
        try await Self.check(cli, ["exec", "pp1", "--format", "json", "--", "seq 1 1000"], .pipe)
        try await Self.check(cli, ["exec", "gone1", "--", "true"], .any)
        try await Self.check(cli, ["docker", "pp1", "--", "version"], .pipe)
        try await Self.check(cli, ["docker", "--all", "--format", "json", "--", "info"], .any)
        try await Self.check(cli, ["export", "pp1", "-o", dir + "/pp1.swock"], .any)
        try await Self.check(cli, ["import", "--rename", "pp1=pp1copy", dir + "/pp1.swock"], .any)
        try await Self.check(cli, ["swarm", "init", "pp1"], .any)
        try await Self.check(cli, ["swarm", "ls"], .any)
        try await Self.check(cli, ["swarm", "join", "--manager", "pp1", "gone1"], .any)
        try await Self.check(cli, ["swarm", "leave", "--force", "pp1"], .any)
        try await Self.check(cli, ["provision", "pp1"], .any)
        try await Self.check(cli, ["regenerate-certs", "--force", "pp1"], .any)
        try await Self.check(cli, ["stop", "pp1"], .any)
        try await Self.check(cli, ["start", "pp1"], .any)
        try await Self.check(cli, ["restart", "pp1"], .any)
        try await Self.check(cli, ["kill", "pp1"], .any)
        try await Self.check(cli, ["upgrade", "pp1"], .any)
        try await Self.check(
            cli,
            [
                "create", "--driver", "generic", "--generic-ip-address", host.ip,
                "--generic-ssh-key", dir + "/missing", "pp2",
            ], .any)
        try await Self.check(cli, ["rm", "-y", "--force", "gone1", "gone2", "pp1copy"], .any)
        try await Self.check(cli, ["rm", "-y", "pp1"], .any)
        // The store is still whole and answers after all that.
        let after = try await cli.run(["ls", "-q"])
        #expect(after.status == 0, "\(after.all)")
    }
}
