import FleetSupport
import Foundation
import SwockStore
import Testing

/// The exit statuses, one scheme (the root --help and docs/command-reference.md): 64 for a usage
/// error, also one found in run(); 1 for a runtime failure; over several machines 2 when some
/// failed and 1 when all did; SIGINT ends the process by the signal (a shell shows 130). Run on
/// the built binary; no fleet needed (records in a scratch store, the docker CLI's --version).
struct ExitStatusTests {
    static func record(_ name: String, ready: Bool) -> MachineConfig {
        var c = MachineConfig(
            name: name, address: "10.231.254.1",
            ssh: SSHSettings(
                user: "root", port: 22, authMode: .key, keyPath: "/nonexistent/key", knownHostsPath: Store.knownHostsPath(name)),
            engine: EngineSettings(), tls: TLSSettings(keyType: "ecdsa"))
        c.provisioning.phase = ready ? .ready : .failed
        return c
    }

    func oneError(_ r: Subprocess.Result, status: Int32, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.stderrText)", sourceLocation: sourceLocation)
        let lines = r.stderrText.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(lines.count == 1 && lines[0].contains(needle), "\(r.stderrText)", sourceLocation: sourceLocation)
    }

    @Test func usageErrorsExit64AlsoWhenFoundInRun() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        // ArgumentParser's own refusal.
        let unknown = try await cli.run(["create", "--no-such-flag", "e-a"])
        #expect(unknown.status == 64, "\(unknown.stderrText)")
        // Found in run(): a missing value, flags that exclude each other, no selection.
        oneError(try await cli.run(["create", "--generic-ssh-user", "u", "e-a"]), status: 64, "--generic-ip-address is required")
        oneError(
            try await cli.run([
                "create", "--generic-ip-address", "10.231.255.1", "--generic-ssh-password-stdin", "--generic-sudo-password-stdin", "e-a",
            ]),
            status: 64, "cannot both read stdin")
        oneError(
            try await cli.run(["create", "--generic-ip-address", "10.231.255.1", "--generic-ssh-port", "70000", "e-a"]),
            status: 64, "--generic-ssh-port 70000 is out of range 1-65535")
        oneError(try await cli.run(["exec", "--", "true"]), status: 64, "no machines selected")
        oneError(try await cli.run(["exec", "--all"]), status: 64, "no command given")
        oneError(try await cli.run(["ls", "--filter", "colour=red"]), status: 64, "--filter \"colour=red\"")
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/e-a"))
    }

    @Test func runtimeFailuresExit1() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        // Docker Machine's line, exactly.
        let rm = try await cli.run(["rm", "-y", "e-nope"])
        oneError(rm, status: 1, "Docker machine \"e-nope\" does not exist")
        #expect(rm.stderrText == "Error: Docker machine \"e-nope\" does not exist; `swock-machine ls` lists the machines")
        oneError(try await cli.run(["exec", "--all", "--", "true"]), status: 1, "no machines in the store")
        oneError(try await cli.run(["inspect", "e-nope"]), status: 1, "does not exist")
    }

    /// docker over several machines: `docker --version` needs no daemon, so a machine whose
    /// record is usable succeeds and one that is not provisioned fails before running.
    @Test func aFleetCommandTellsSomeFailedFromAllFailed() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let store = Store(root: cli.store)
        try store.reserve(Self.record("e-ok", ready: true), files: ["ca.pem": Data(), "cert.pem": Data(), "key.pem": Data()])
        try store.reserve(Self.record("e-bad1", ready: false))
        try store.reserve(Self.record("e-bad2", ready: false))
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker")
                || FileManager.default.isExecutableFile(atPath: "/usr/bin/docker")
        else {
            Issue.record("the docker CLI is not installed")
            return
        }
        let all = try await cli.run(["docker", "e-ok", "--", "--version"])
        #expect(all.status == 0, "\(all.stderrText)")
        let some = try await cli.run(["docker", "e-ok", "e-bad1", "--", "--version"])
        #expect(some.status == 2, "\(some.stderrText)")
        #expect(some.stderrText.contains("1 ok, 0 failed, 1 unreachable"), "\(some.stderrText)")
        let none = try await cli.run(["docker", "e-bad1", "e-bad2", "--", "--version"])
        #expect(none.status == 1, "\(none.stderrText)")
        #expect(none.stderrText.contains("0 ok, 0 failed, 2 unreachable"), "\(none.stderrText)")
    }

    /// Interrupted while it waits (here on stdin for a password), the process ends by SIGINT
    /// itself, which a shell reports as 130.
    @Test func sigintEndsTheProcessAs130() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["create", "--generic-ip-address", "10.231.255.1", "--generic-ssh-password-stdin", "e-int"]
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = cli.store
        p.environment = env
        let stdin = Pipe()
        p.standardInput = stdin
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        // From a thread that blocks no signal: the test runner's threads block them all.
        final class Box: @unchecked Sendable { var error: Error? }
        let box = Box()
        let started = DispatchSemaphore(value: 0)
        Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try p.run() } catch { box.error = error }
            started.signal()
        }.start()
        started.wait()
        if let e = box.error { throw e }
        // It blocks reading stdin (kept open) until it is interrupted, whenever the signal lands.
        try await Task.sleep(for: .milliseconds(300))
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        try? stdin.fileHandleForWriting.close()
        #expect(
            p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGINT,
            "reason \(p.terminationReason.rawValue), status \(p.terminationStatus)")
        #expect(128 + p.terminationStatus == 130)
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/e-int"))
    }
}
