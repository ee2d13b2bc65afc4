import FleetSupport
import Foundation
import Testing

/// Five machines fx1..fx5 on docker-variant fleet hosts, created once for the whole suite
/// (labels: parity=odd|even). The suite is serialized: one test powers a host off.
actor FleetExecFixture {
    static let shared = FleetExecFixture()
    static let names = ["fx1", "fx2", "fx3", "fx4", "fx5"]
    private var setup: Task<(CLI, [FleetHost]), Error>?
    /// The scratch store, removed when the test process exits (no suite teardown in Swift Testing).
    static let storeToRemove = LockedPath()

    func get() async throws -> (CLI, [FleetHost]) {
        if setup == nil {
            setup = Task {
                let hosts = try await Fleet.freshShared(Self.names, variant: "docker")
                let cli = CLI()
                FleetExecFixture.storeToRemove.set(cli.store)
                atexit { FleetExecFixture.storeToRemove.get().map { _ = try? FileManager.default.removeItem(atPath: $0) } }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, h) in hosts.enumerated() {
                        group.addTask {
                            let r = try await cli.create(h.name, on: h, extra: ["--label", "parity=\(i % 2 == 0 ? "odd" : "even")"])
                            guard r.status == 0 else { throw Fleet.Failure(description: "create \(h.name): \(r.all)") }
                        }
                    }
                    try await group.waitForAll()
                }
                return (cli, hosts)
            }
        }
        return try await setup!.value
    }
}

final class LockedPath: @unchecked Sendable {
    private let lock = NSLock()
    private var path: String?
    func set(_ p: String) { lock.lock(); path = p; lock.unlock() }
    func get() -> String? { lock.lock(); defer { lock.unlock() }; return path }
}

@Suite(.serialized, .enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct FleetExecTests {
    func fixture() async throws -> CLI { try await FleetExecFixture.shared.get().0 }

    /// stdout as a set of lines.
    func lines(_ r: FleetSupport.Subprocess.Result) -> Set<String> {
        Set(r.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty })
    }

    /// The last line of stderr: the summary.
    func summary(_ r: FleetSupport.Subprocess.Result) -> String {
        r.stderrText.split(separator: "\n").last.map(String.init) ?? ""
    }

    func jsonObjects(_ r: FleetSupport.Subprocess.Result) throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for line in r.stdoutText.split(separator: "\n") {
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            out[obj["name"] as? String ?? "?"] = obj
        }
        return out
    }

    @Test func mixedExitCodesGiveSummaryAndStatus() async throws {
        let cli = try await fixture()
        let all = try await cli.run(["exec", "--all", "--", "echo hello from $(hostname); echo warn >&2; printf tail"])
        #expect(all.status == 0, "\(all.all)")
        #expect(lines(all) == Set(FleetExecFixture.names.flatMap { ["\($0) | hello from \($0)", "\($0) | tail"] }), "\(all.stdoutText)")
        #expect(all.stderrText.contains("fx3 | warn"), "\(all.stderrText)")
        #expect(summary(all) == "5 ok, 0 failed, 0 unreachable")

        let mixed = try await cli.run(["exec", "--all", "--", "exit $(( $(hostname | tr -dc 0-9) % 2 ))"])
        #expect(mixed.status == 2, "some failed: \(mixed.all)")
        #expect(summary(mixed) == "2 ok, 3 failed, 0 unreachable", "\(mixed.all)")
        for n in ["fx1", "fx3", "fx5"] { #expect(mixed.stderrText.contains("\(n) | exit status 1"), "\(mixed.all)") }
        #expect(!mixed.stderrText.contains("fx2 |"), "\(mixed.all)")

        // Several words after -- are quoted one by one, as `ssh` does here.
        let words = try await cli.run(["exec", "fx1", "--", "printf", "%s|", "a b", "$HOME"])
        #expect(words.stdoutText == "fx1 | a b|$HOME|\n", "\(words.all)")

        let fast = try await cli.run(["exec", "--all", "-p", "1", "--fail-fast", "--", "exit 1"])
        #expect(fast.status == 1)
        #expect(summary(fast) == "0 ok, 1 failed, 0 unreachable, 4 skipped", "\(fast.all)")
        // The fleet run's own reasons are values below; the command line words them, naming the flag.
        #expect(fast.stderrText.components(separatedBy: "skipped (--fail-fast)").count == 5, "\(fast.all)")
        let fastJSON = try await cli.run(["exec", "--all", "-p", "1", "--fail-fast", "--format", "json", "--", "exit 1"])
        let skipped = try jsonObjects(fastJSON).values.filter { $0["result"] as? String == "skipped" }
        #expect(skipped.count == 4, "\(fastJSON.all)")
        #expect(
            skipped.allSatisfy { $0["error"] as? String == "not started: --fail-fast stopped the run after a failure" }, "\(fastJSON.all)")
    }

    @Test func jsonCarriesEveryField() async throws {
        let cli = try await fixture()
        let r = try await cli.run([
            "exec", "--all", "--format", "json", "--", "echo out; echo err >&2; exit $(( $(hostname | tr -dc 0-9) % 2 ))",
        ])
        #expect(r.status == 2)
        #expect(summary(r) == "2 ok, 3 failed, 0 unreachable")
        let objs = try jsonObjects(r)
        #expect(Set(objs.keys) == Set(FleetExecFixture.names), "\(r.stdoutText)")
        let keys: Set<String> = ["name", "result", "exit", "signal", "stdout", "stderr", "duration_ms", "error"]
        for (name, o) in objs {
            let odd = Int(name.dropFirst(2))! % 2
            #expect(Set(o.keys) == keys, "\(o)")
            #expect(o["exit"] as? Int == odd)
            #expect(o["result"] as? String == (odd == 0 ? "ok" : "failed"))
            #expect(o["signal"] is NSNull)
            #expect(o["stdout"] as? String == "out\n")
            #expect(o["stderr"] as? String == "err\n")
            #expect((o["duration_ms"] as? Int).map { $0 >= 0 && $0 < 30_000 } == true)
            #expect(o["error"] is NSNull)
        }
        let killed = try await cli.run(["exec", "fx2", "--format", "json", "--", "kill -KILL $$"])
        let k = try #require(try jsonObjects(killed)["fx2"])
        #expect(k["signal"] as? String == "KILL", "\(killed.all)")
        #expect(k["exit"] is NSNull)
        #expect(k["result"] as? String == "failed")
        let timeout = try await cli.run(["exec", "fx2", "--format", "json", "--timeout", "1", "--", "sleep 20"])
        let t = try #require(try jsonObjects(timeout)["fx2"])
        #expect(t["error"] as? String == "timed out after 1 s (--timeout)", "\(timeout.all)")
        #expect(t["exit"] is NSNull)
        let timeoutText = try await cli.run(["exec", "fx2", "--timeout", "1", "--", "sleep 20"])
        #expect(timeoutText.stderrText.contains("fx2 | failed: timed out after 1 s (--timeout)"), "\(timeoutText.all)")
    }

    @Test func parallelOneSerialises() async throws {
        let (cli, hosts) = try await FleetExecFixture.shared.get()
        let serial = try await cli.run(["exec", "--all", "--format", "json", "-p", "1", "--", "date +%s.%N; sleep 1; date +%s.%N"])
        #expect(serial.status == 0, "\(serial.all)")
        let intervals = try jsonObjects(serial).values.map { o in
            let t = (o["stdout"] as? String ?? "").split(separator: "\n").compactMap { Double($0) }
            return t.count == 2 ? (t[0], t[1]) : (0, 0)
        }.sorted { $0.0 < $1.0 }
        #expect(intervals.count == 5)
        for (a, b) in zip(intervals, intervals.dropFirst()) {
            #expect(b.0 >= a.1, "with -p 1 the runs overlap: \(intervals)")
        }
        // By default they run at once. Each run waits on its host until this test has seen all
        // five start (a barrier; no clock involved), so runs that waited for one another would
        // never all start, and the first would give up after 60 s and fail.
        let started = "/tmp/swock-parallel-started", go = "/tmp/swock-parallel-go"
        for h in hosts { try await Fleet.run(h.name, "rm -f \(started) \(go)") }
        async let together = cli.run([
            "exec", "--all", "--format", "json", "--",
            "touch \(started); i=0; while [ ! -e \(go) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; test -e \(go)",
        ])
        var waiting = hosts.map(\.name)
        for _ in 0..<600 where !waiting.isEmpty {
            var still: [String] = []
            for name in waiting where try await Fleet.run(name, "test -e \(started)").status != 0 { still.append(name) }
            waiting = still
            if !waiting.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        for h in hosts { try await Fleet.run(h.name, "touch \(go)") }
        let r = try await together
        #expect(waiting.isEmpty, "runs did not start together: \(waiting) had not started while the others waited")
        #expect(r.status == 0, "\(r.all)")
        #expect(try jsonObjects(r).values.allSatisfy { $0["exit"] as? Int == 0 }, "\(r.all)")
        for h in hosts { try await Fleet.run(h.name, "rm -f \(started) \(go)") }
    }

    @Test func selectorsGlobsAndFilters() async throws {
        let cli = try await fixture()
        func hosts(_ args: [String]) async throws -> [String] {
            let r = try await cli.run(["exec"] + args + ["--", "hostname"])
            #expect(r.status == 0, "\(r.all)")
            return lines(r).map { String($0.split(separator: " ").first!) }.sorted()
        }
        #expect(try await hosts(["fx[13]", "fx5", "fx1"]) == ["fx1", "fx3", "fx5"])
        #expect(try await hosts(["fx?"]) == FleetExecFixture.names)
        #expect(try await hosts(["--filter", "label=parity=even"]) == ["fx2", "fx4"])
        #expect(try await hosts(["fx*", "--filter", "label=parity=odd"]) == ["fx1", "fx3", "fx5"])
        #expect(try await hosts(["--filter", "state=Running", "--filter", "label=parity=even"]) == ["fx2", "fx4"])
        let unknown = try await cli.run(["exec", "fx1", "nope", "--", "true"])
        #expect(unknown.status == 1)
        #expect(unknown.stderrText == "Error: Docker machine \"nope\" does not exist; `swock-machine ls` lists the machines")
        let glob = try await cli.run(["exec", "zz*", "--", "true"])
        #expect(glob.status == 1)
        #expect(glob.stderrText == "Error: no machine matches \"zz*\"; `swock-machine ls` lists the machines")
        let none = try await cli.run(["exec", "--", "true"])
        #expect(none.status == 64)
        #expect(none.stderrText.contains("no machines selected"), "\(none.all)")
        let noCommand = try await cli.run(["exec", "--all"])
        #expect(noCommand.status == 64)
        #expect(noCommand.stderrText.contains("no command given"), "\(noCommand.all)")
    }

    @Test func dockerFanOutRunsAContainerEverywhere() async throws {
        let cli = try await fixture()
        let tar = try await Fleet.busyboxTarball()
        // A stray DOCKER_CONTEXT must not win over the machine's environment.
        let imp = try await cli.run(["docker", "--all", "--", "import", tar, "busybox:local"], env: ["DOCKER_CONTEXT": "no-such-context"])
        #expect(imp.status == 0, "\(imp.all)")
        #expect(summary(imp) == "5 ok, 0 failed, 0 unreachable", "\(imp.all)")
        let run = try await cli.run(["docker", "--all", "--", "run", "--rm", "busybox:local", "sh", "-c", DockerRace.sleepThenEcho, "hi"])
        #expect(run.status == 0, "\(run.all)")
        #expect(lines(run) == Set(FleetExecFixture.names.map { "\($0) | hi" }), "\(run.all)")
        // Each run talks to its own machine.
        let info = try await cli.run(["docker", "fx[24]", "--", "info", "--format", "{{.Name}}"])
        #expect(lines(info) == ["fx2 | fx2", "fx4 | fx4"], "\(info.all)")
        let bad = try await cli.run(["docker", "--all", "--format", "json", "--", "run", "--rm", "busybox:local", "false"])
        #expect(bad.status == 1, "\(bad.all)")
        let objs = try jsonObjects(bad)
        #expect(objs.count == 5)
        #expect(objs.values.allSatisfy { $0["exit"] as? Int == 1 && $0["result"] as? String == "failed" }, "\(bad.all)")
        #expect(summary(bad) == "0 ok, 5 failed, 0 unreachable")
        // A run past --timeout: the timeout, in the command line's words, in JSON and in text.
        let late = try await cli.run([
            "docker", "fx3", "--timeout", "1", "--format", "json", "--", "run", "--rm", "busybox:local", "sleep", "20",
        ])
        let l = try #require(try jsonObjects(late)["fx3"])
        #expect(l["error"] as? String == "timed out after 1 s (--timeout)", "\(late.all)")
        #expect(l["result"] as? String == "failed", "\(late.all)")
        let lateText = try await cli.run(["docker", "fx3", "--timeout", "1", "--", "run", "--rm", "busybox:local", "sleep", "20"])
        #expect(lateText.stderrText.contains("fx3 | failed: timed out after 1 s (--timeout)"), "\(lateText.all)")
    }

    @Test func aHostPoweredOffMidRunIsReportedAndTheOthersFinish() async throws {
        let cli = try await fixture()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            async let running = cli.run(["exec", "--all", "--timeout", "10", "--", "sleep 3; echo done"])
            try await Task.sleep(for: .seconds(1))
            try await Fleet.poweroff("fx5")
            let r = try await running
            let elapsed = clock.now - start
            #expect(r.status == 2, "\(r.all)")
            #expect(lines(r) == Set(["fx1", "fx2", "fx3", "fx4"].map { "\($0) | done" }), "\(r.all)")
            #expect(["4 ok, 1 failed, 0 unreachable", "4 ok, 0 failed, 1 unreachable"].contains(summary(r)), "\(r.all)")
            #expect(r.stderrText.contains("fx5 | "), "\(r.all)")
            #expect(elapsed < .seconds(14), "took \(elapsed)")

            // While it is off, it is unreachable; the others still answer.
            let off = try await cli.run(["exec", "--all", "--timeout", "3", "--format", "json", "--", "echo up"])
            #expect(off.status == 2)
            #expect(summary(off) == "4 ok, 0 failed, 1 unreachable", "\(off.all)")
            let o = try #require(try jsonObjects(off)["fx5"])
            #expect(o["result"] as? String == "unreachable")
            #expect((o["error"] as? String)?.hasPrefix("ssh: ") == true, "\(o)")
            #expect(o["stdout"] is NSNull && o["exit"] is NSNull)
        } catch {
            _ = try? await Fleet.up("fx5", variant: "docker")
            throw error
        }
        _ = try await Fleet.up("fx5", variant: "docker")
        let back = try await cli.run(["exec", "fx5", "--timeout", "10", "--", "echo back"])
        #expect(back.stdoutText == "fx5 | back\n", "\(back.all)")
    }
}
