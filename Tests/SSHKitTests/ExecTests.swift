import FleetSupport
import Foundation
import SSHKit
import Testing

@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct ExecTests {
    @Test func exitCodesAndSignal() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        #expect(try await s.exec("true").exitStatus == 0)
        #expect(try await s.exec("exit 1").exitStatus == 1)
        let missing = try await s.exec("no-such-command-here")
        #expect(missing.exitStatus == 127)
        #expect(missing.stderrText.contains("not found"))
        let killed = try await s.exec("kill -KILL $$")
        #expect(killed.exitStatus == nil)
        #expect(killed.signal == "KILL")
        #expect(!killed.succeeded)
    }

    @Test func fourMegabytesKeepTheStatus() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        let r = try await s.exec("head -c 4194304 /dev/zero; echo done >&2; exit 3")
        #expect(r.stdout.count == 4_194_304)
        #expect(r.exitStatus == 3)
        #expect(r.stderrText == "done\n")
    }

    @Test func stderrIsKeptApartAndStreamed() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        final class Lines: @unchecked Sendable { var out = Data(); var err = Data(); let lock = NSLock() }
        let lines = Lines()
        let r = try await s.exec(
            "echo to-out; echo to-err >&2; echo more-out",
            onStdout: { d in
                lines.lock.lock(); lines.out.append(d); lines.lock.unlock()
            },
            onStderr: { d in
                lines.lock.lock(); lines.err.append(d); lines.lock.unlock()
            })
        #expect(r.stdoutText == "to-out\nmore-out\n")
        #expect(r.stderrText == "to-err\n")
        #expect(String(decoding: lines.out, as: UTF8.self) == r.stdoutText)
        #expect(String(decoding: lines.err, as: UTF8.self) == r.stderrText)
    }

    @Test func stdinRoundTrip() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        var payload = Data()
        for i in 0..<200_000 { payload.append(UInt8(truncatingIfNeeded: i &* 31)) }
        let r = try await s.exec("cat", stdin: .data(payload))
        #expect(r.exitStatus == 0)
        #expect(r.stdout == payload)
        // Stdin from a file descriptor (what `ssh NAME -- cat` does with our own stdin).
        let path = dir.file("input")
        try Data("from a descriptor\n".utf8).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let r2 = try await s.exec("tr a-z A-Z", stdin: .fileDescriptor(fd))
        #expect(r2.stdoutText == "FROM A DESCRIPTOR\n")
    }

    @Test func commandDeadlineStopsTheCommandAndKeepsTheSession() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: SSHError.commandTimedOut(host: host.ip, seconds: 1)) {
            try await s.exec("sleep 30", timeout: .seconds(1))
        }
        #expect(clock.now - start < .seconds(10))
        #expect(try await s.run("echo still-here") == "still-here\n")
    }

    @Test func runThrowsWithStderr() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        do {
            try await s.run("echo boom >&2; exit 4")
            Issue.record("expected a failure")
        } catch let e as SSHError {
            #expect(e.description.contains("exited with status 4"))
            #expect(e.description.contains("boom"))
        }
    }

    @Test func twentySessionsRunAtOnce() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        // Connect in batches (sshd's MaxStartups drops excess concurrent handshakes), then run.
        var sessions: [SSHSession] = []
        for _ in 0..<4 {
            try await withThrowingTaskGroup(of: SSHSession.self) { g in
                for _ in 0..<5 { g.addTask { try await connect(host, dir: dir) } }
                for try await s in g { sessions.append(s) }
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let all = sessions
        let statuses = try await withThrowingTaskGroup(of: Int32?.self) { g in
            for s in all { g.addTask { try await s.exec("sleep 1").exitStatus } }
            var out: [Int32?] = []
            for try await st in g { out.append(st) }
            return out
        }
        let elapsed = clock.now - start
        print("20 parallel `sleep 1` sessions took \(elapsed)")
        #expect(statuses.count == 20)
        #expect(statuses.allSatisfy { $0 == 0 })
        // Run one after another they would need 20 s: this proves they ran concurrently.
        #expect(elapsed < .seconds(5))
    }
}
