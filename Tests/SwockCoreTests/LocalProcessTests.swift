import Foundation
import Testing

@testable import SwockRuntime

private final class Chunks: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private(set) var count = 0
    func add(_ d: Data) { lock.lock(); data.append(d); count += 1; lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}

@Suite struct LocalProcessTests {
    func sh(_ script: String, env: [String: String] = ["PATH": "/usr/bin:/bin"], timeout: Duration? = nil) async throws -> (
        LocalProcess.Exit, String, String
    ) {
        let out = Chunks(), err = Chunks()
        let exit = try await LocalProcess.run(
            ["/bin/sh", "-c", script], environment: env, timeout: timeout,
            onStdout: { out.add($0) }, onStderr: { err.add($0) })
        return (exit, out.text, err.text)
    }

    @Test func statusAndStreams() async throws {
        let (e, out, err) = try await sh("echo one; echo two >&2; exit 3")
        #expect(e.status == 3)
        #expect(e.signal == nil)
        #expect(!e.timedOut)
        #expect(out == "one\n")
        #expect(err == "two\n")
    }

    @Test func environmentIsExactlyWhatWasGiven() async throws {
        let (_, out, _) = try await sh("echo \"$A|${HOME-unset}\"", env: ["A": "x y", "PATH": "/usr/bin:/bin"])
        #expect(out == "x y|unset\n")
    }

    @Test func childStartsWithNoBlockedOrIgnoredSignals() async throws {
        // Our own threads may block signals, and swock-machine ignores SIGPIPE: the child must not inherit either.
        let (_, out, _) = try await sh("grep -E '^Sig(Blk|Ign)' /proc/self/status")
        var masks: [String: UInt64] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: "\t")
            if f.count == 2 { masks[String(f[0])] = UInt64(f[1], radix: 16) }
        }
        // Signals 1-31 (32 and up are glibc's own real-time signals).
        #expect(masks["SigBlk:"].map { $0 & 0x7fff_ffff } == 0, "\(out)")
        #expect(masks["SigIgn:"].map { $0 & 0x7fff_ffff } == 0, "\(out)")
    }

    @Test func signalAndTimeout() async throws {
        let (killed, _, _) = try await sh("kill -KILL $$")
        #expect(killed.status == nil)
        #expect(killed.signal == "KILL")
        let clock = ContinuousClock()
        let start = clock.now
        let (slow, out, _) = try await sh("echo started; sleep 60", timeout: .seconds(2))
        #expect(slow.timedOut)
        #expect(slow.signal == "TERM")
        #expect(out == "started\n")
        // Ended by the 2 s timeout, not by the 60 s command (generous for a loaded machine).
        #expect(clock.now - start < .seconds(30))
    }

    @Test func stdinIsEmptyAndLargeOutputArrivesWhole() async throws {
        let (e, out, _) = try await sh("cat; head -c 3000000 /dev/zero | tr '\\0' x")
        #expect(e.status == 0)
        #expect(out.count == 3_000_000)
    }

    @Test func aGrandchildHoldingThePipeDoesNotHangUs() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let (e, out, _) = try await sh("echo hi; (sleep 60 &) ; exit 0")
        #expect(e.status == 0)
        #expect(out == "hi\n")
        #expect(clock.now - start < .seconds(30), "we waited for the grandchild")
    }

    /// Twelve children that each wait (up to 60 s) until all twelve have started: they can only
    /// all finish with "ok" if they really run at the same time.
    @Test func manyAtOnce() async throws {
        let dir = try TempDir("many")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("started"), withIntermediateDirectories: true)
        let barrier = try dir.script(
            "barrier.sh",
            """
            touch "$1/$2"; n=0
            while [ "$(ls "$1" | wc -l)" -lt 12 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done
            [ "$(ls "$1" | wc -l)" -ge 12 ] && echo "$2 ok"
            """)
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<12 {
                group.addTask {
                    try await sh(
                        "exec sh \"$0\" \"$1\" \(i)".replacingOccurrences(of: "$0", with: barrier).replacingOccurrences(
                            of: "$1", with: dir.sub("started"))
                    ).1
                }
            }
            var out: [String] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(Set(results) == Set((0..<12).map { "\($0) ok\n" }), "the children did not all run at once: \(results)")
    }

    @Test func findLooksOnPath() {
        #expect(LocalProcess.find("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(LocalProcess.find("no-such-program-xyz", path: "/bin:/usr/bin") == nil)
        #expect(LocalProcess.find("/bin/sh", path: nil) == "/bin/sh")
    }
}
