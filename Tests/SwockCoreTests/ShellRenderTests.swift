import FleetSupport
import Foundation
import SSHKit
@testable import SwockEngine
import SwockSupport
import Testing

/// The sh texts the renderer produces, run by a real /bin/sh: hostile words arrive byte-exact
/// and never execute.
@Suite struct ShellRenderTests {
    @Test func shellConfLayout() {
        let conf = EngineConfigRenderer.shellConf(variable: "DOCKER_OPTS", arguments: ["-H", "tcp://0.0.0.0:2376", "--tlsverify"],
                                                  environment: ["HTTP_PROXY=http://p:3128", "A=b c"])
        #expect(conf == """
            # Written by swock-machine; removed by `swock-machine rm`.
            export HTTP_PROXY=http://p:3128
            export 'A=b c'
            DOCKER_OPTS='-H tcp://0.0.0.0:2376 --tlsverify'

            """)
    }

    @Test func shellConfSourcedBySh() throws {
        let dir = try TempDir("conf")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let args = pwned.hostileWords
        let env = pwned.hostileWords.enumerated().map { "SWOCK_V\($0.offset)=\($0.element)" }
        let conf = EngineConfigRenderer.shellConf(variable: "DOCKER_OPTS", arguments: args, environment: env)
        let path = dir.sub("docker conf")
        try conf.write(toFile: path, atomically: true, encoding: .utf8)
        // Source it as an init script would, then print what it set.
        let r = try sh(#". "$1" && printf '%s\0' "$DOCKER_OPTS" && env -0"#, [path])
        #expect(r.status == 0, "\(r.stderrText)")
        let fields = nulFields(r.stdout)
        #expect(fields.first == args.joined(separator: " "))
        let exported = envDict(fields.dropFirst())
        for (i, w) in pwned.hostileWords.enumerated() {
            #expect(exported["SWOCK_V\(i)"] == w, "\(w.debugDescription)")
        }
        #expect(!pwned.happened)
    }

    /// InitSystem.none's start with a fake dockerd that records argv and environment. The fixed pid and
    /// log paths are swapped for temp ones; the rest of the text runs as generated.
    @Test func detachedStartRunsBySh() throws {
        let dir = try TempDir("detached")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let out = dir.sub("argv")
        let dockerd = try dir.script("bin dir/it's dockerd $(x)", """
            #!/bin/sh
            { printf '%s\\0' "$0" "$@"; printf '==env\\0'; env -0; } > \(ShellQuote.quote(out + ".tmp"))
            mv \(ShellQuote.quote(out + ".tmp")) \(ShellQuote.quote(out))
            exec sleep 30
            """)
        let args = pwned.hostileWords
        let env = ["SWOCK_A=x y $(touch \(pwned.path))", "SWOCK_B=q\"r\\s\nt'`id`", "SWOCK_C="]
        let pid = dir.sub("dockerd.pid"), log = dir.sub("dockerd.log")
        var text = InitSystem.none.command(.start, DaemonLaunch(dockerdPath: dockerd, arguments: args, environment: env))
        #expect(text.contains(InitSystem.pidFile) && text.contains(InitSystem.logFile))
        text = text.replacingOccurrences(of: InitSystem.pidFile, with: ShellQuote.quote(pid))
            .replacingOccurrences(of: InitSystem.logFile, with: ShellQuote.quote(log))

        let started = Date()
        let r = try runLeavingChildren(["/bin/sh", "-c", text], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 5, "the start returns at once")
        defer { if let p = try? String(contentsOfFile: pid, encoding: .utf8), let n = Int32(p.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(n, SIGTERM) } }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: out) && Date() < deadline { usleep(20_000) }
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let fields = nulFields(data)
        let split = try #require(fields.firstIndex(of: "==env"))
        #expect(Array(fields[..<split]) == [dockerd] + args)
        let seen = envDict(fields[(split + 1)...])
        for e in env {
            let eq = e.firstIndex(of: "=")!
            #expect(seen[String(e[..<eq])] == String(e[e.index(after: eq)...]), "\(e.debugDescription)")
        }
        // The pid file names the process that is running it, detached in its own session.
        let recorded = try String(contentsOfFile: pid, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let n = try #require(Int32(recorded))
        #expect(kill(n, 0) == 0)
        #expect(!pwned.happened)

        // Running it again stops the old one first (the pid file's process goes away).
        try? FileManager.default.removeItem(atPath: out)
        let again = try runLeavingChildren(["/bin/sh", "-c", text], in: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(kill(n, 0) != 0 || Self.isZombie(n), "the previous dockerd was stopped")
        let second = try String(contentsOfFile: pid, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(second != recorded)
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return s.split(separator: ")").last?.split(separator: " ").first == "Z"
    }
}
