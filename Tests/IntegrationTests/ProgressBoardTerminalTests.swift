import FleetSupport
import Foundation
import Testing

/// The live board in a real terminal (tmux): `create -f` and `provision` over several fleet
/// hosts, a narrow terminal, and Ctrl-C in the middle. The captured screens, with times, the
/// spinner and addresses normalized, are kept in Tests/Fixtures/progress/ (the final boards are
/// compared with them; SWOCK_RECORD_FIXTURES=1 writes them anew).
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot, .serialized)
struct ProgressBoardTerminalTests {
    static let fixtures = Fleet.repoRoot + "/Tests/Fixtures/progress"

    /// One tmux server per test (its own socket), one window of `width` x `height`.
    struct Terminal {
        let socket = "swock-h-\(UUID().uuidString.prefix(8))"
        let cli: CLI

        func start(_ args: [String], width: Int, height: Int = 40) async throws {
            let env = "SWOCK_MACHINE_STORAGE_PATH=\(quote(cli.store)) DOCKER_CONFIG=\(quote(cli.dockerConfig)) TERM=xterm-256color"
            let command = "env \(env) \(quote(CLI.binary)) \(args.map(quote).joined(separator: " ")); echo \"EXIT=$?\"; sleep 900"
            let status = await Self.tmux([
                "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "\(width)", "-y", "\(height)", "bash", "-c", command,
            ]).status
            #expect(status == 0)
        }

        func screen() async throws -> String {
            await Self.tmux(["-L", socket, "capture-pane", "-p"]).output
        }

        func keys(_ k: String) async throws {
            _ = await Self.tmux(["-L", socket, "send-keys", k])
        }

        /// tmux through posix_spawn and waitpid on its pid (its server outlives the client and
        /// Process missed the client's end), stdout through a file.
        static func tmux(_ args: [String]) async -> (status: Int32, output: String) {
            await withCheckedContinuation { cont in
                Thread {
                    var none = sigset_t()
                    sigemptyset(&none)
                    pthread_sigmask(SIG_SETMASK, &none, nil)
                    let out = NSTemporaryDirectory() + "tmux-out-\(UUID().uuidString)"
                    defer { try? FileManager.default.removeItem(atPath: out) }
                    var actions = posix_spawn_file_actions_t()
                    posix_spawn_file_actions_init(&actions)
                    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                    posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
                    defer { posix_spawn_file_actions_destroy(&actions) }
                    let argv = (["tmux"] + args).map { strdup($0) } + [nil]
                    defer { for a in argv { free(a) } }
                    var pid: pid_t = 0
                    guard posix_spawnp(&pid, "tmux", &actions, nil, argv, environ) == 0 else { cont.resume(returning: (127, "")); return }
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                    cont.resume(returning: ((status >> 8) & 0xff, text))
                }.start()
            }
        }

        /// Polls the screen until `done` holds (at most `seconds`); returns the last screen.
        func wait(seconds: Int, until done: (String) -> Bool) async throws -> String {
            var s = ""
            for _ in 0..<(seconds * 5) {
                s = try await screen()
                if done(s) { return s }
                try await Task.sleep(for: .milliseconds(200))
            }
            return s
        }

        func kill() async { _ = await Self.tmux(["-L", socket, "kill-server"]) }

        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    }

    /// Times, the spinner and addresses made stable; trailing blanks and empty lines dropped.
    static func normalize(_ screen: String) -> String {
        var s = screen
        for (pattern, with) in [
            (#"\d+h\d\dm|\d+m\d\ds|\d+\.\d+s|\(\d+\.\d+ s\)"#, "T"), ("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]", "*"),
            (#"10\.231\.\d+\.\d+"#, "ADDR"), (#"SHA256:[A-Za-z0-9+/]+"#, "SHA256:KEY"), (#"swock-board-[0-9A-F]{8}"#, "swock-board-ID"),
        ] {
            s = s.replacingOccurrences(of: pattern, with: with, options: .regularExpression)
        }
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression)
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .newlines) + "\n"
    }

    /// The board's last picture: from the first machine line to the summary line.
    static func board(_ screen: String, names: [String]) -> String {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.firstIndex(where: { l in names.contains { l.dropFirst(2).hasPrefix($0 + " ") } }),
            let last = lines.lastIndex(where: { $0.contains(" done: ") }), last >= first
        else { return "" }
        return lines[first...last].joined(separator: "\n") + "\n"
    }

    static func keep(_ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: fixtures, withIntermediateDirectories: true)
        try text.write(toFile: fixtures + "/" + name, atomically: true, encoding: .utf8)
    }

    static func compare(_ name: String, _ text: String) throws {
        if ProcessInfo.processInfo.environment["SWOCK_RECORD_FIXTURES"] == "1" { try keep(name, text); return }
        let expected = try String(contentsOfFile: fixtures + "/" + name, encoding: .utf8)
        #expect(text == expected, "\(name) differs:\n\(text)")
    }

    /// create -f over two hosts that install the engine and one that cannot be reached: while it
    /// runs, one line per machine with its step and a spinner, "still waiting" on the long
    /// install; at the end each collapsed to its mark and duration, and the summary. Then
    /// `provision` of both in a 40-column terminal: no line wider than the terminal.
    @Test func createFleetAndProvisionInANarrowTerminal() async throws {
        let hosts = try await Fleet.fresh(["h-pb1", "h-pb2"])
        let gone = try await Fleet.freeIP()
        let dir = NSTemporaryDirectory() + "swock-board-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cli = CLI()
        let term = Terminal(cli: cli)
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: dir) }
        try """
        defaults: {user: \(hosts[0].user), key: \(hosts[0].keyPath)}
        machines:
          - {name: pb1, address: \(hosts[0].ip)}
          - {name: pb2, address: \(hosts[1].ip)}
          - {name: pb-gone, address: \(gone)}
        """.write(toFile: dir + "/fleet.yaml", atomically: true, encoding: .utf8)
        try await term.start(["create", "-f", dir + "/fleet.yaml"], width: 100)
        let running = try await term.wait(seconds: 240) { $0.contains("still waiting") || $0.contains("EXIT=") }
        #expect(running.contains("still waiting"), "\(running)")
        #expect(running.contains("install-engine") || running.contains("wait-engine"), "\(running)")
        #expect(running.contains(" running · "), "\(running)")
        try Self.keep("create-f-running.txt", Self.normalize(Self.board(running, names: ["pb1", "pb2", "pb-gone"])))
        let final = try await term.wait(seconds: 400) { $0.contains("EXIT=") }
        await term.kill()
        #expect(final.contains("EXIT=2"), "\(final)")
        let board = Self.normalize(Self.board(final, names: ["pb1", "pb2", "pb-gone"]))
        #expect(!board.contains("*"), "every machine collapsed:\n\(board)")
        try Self.compare("create-f-final.txt", board)

        let narrow = Terminal(cli: cli)
        try await narrow.start(["provision", "pb1", "pb2"], width: 40)
        let end = try await narrow.wait(seconds: 300) { $0.contains("EXIT=") }
        await narrow.kill()
        #expect(end.contains("EXIT=0"), "\(end)")
        let nb = Self.board(end, names: ["pb1", "pb2"])
        #expect(!nb.isEmpty, "\(end)")
        for line in nb.split(separator: "\n") { #expect(line.count <= 40, "\(line)") }
        try Self.compare("provision-narrow-final.txt", Self.normalize(nb))
    }

    /// Ctrl-C in the middle: the board's last picture, a line naming the machines that did not
    /// finish, exit status 130; every record in the store loads, none half-written, each says
    /// where it stopped; the same file run again (plain lines) finishes them.
    @Test func ctrlCInTheMiddle() async throws {
        let hosts = try await Fleet.fresh(["h-pc1", "h-pc2"])
        let dir = NSTemporaryDirectory() + "swock-board-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cli = CLI()
        let term = Terminal(cli: cli)
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: dir) }
        try """
        defaults: {user: \(hosts[0].user), key: \(hosts[0].keyPath)}
        machines:
          - {name: pc1, address: \(hosts[0].ip)}
          - {name: pc2, address: \(hosts[1].ip)}
        """.write(toFile: dir + "/fleet.yaml", atomically: true, encoding: .utf8)
        try await term.start(["create", "-f", dir + "/fleet.yaml"], width: 100)
        // Both past their pre-checks (each has a record) and installing the engine.
        let mid = try await term.wait(seconds: 120) { $0.components(separatedBy: "install-engine").count == 3 || $0.contains("EXIT=") }
        #expect(mid.components(separatedBy: "install-engine").count == 3, "\(mid)")
        try await term.keys("C-c")
        let after = try await term.wait(seconds: 30) { $0.contains("EXIT=") }
        await term.kill()
        #expect(after.contains("EXIT=130"), "\(after)")
        #expect(after.contains("interrupted: "), "\(after)")
        // (The terminal wraps the long line: read it joined.)
        #expect(
            after.replacingOccurrences(of: "\n", with: "").contains("run `swock-machine create -f \(dir)/fleet.yaml` again to go on"),
            "\(after)")
        let lines = after.split(separator: "\n").map(String.init)
        try Self.keep("ctrl-c.txt", Self.normalize(lines.filter { !$0.hasPrefix("EXIT=") }.joined(separator: "\n")))
        // Every record is whole and says it is not finished.
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.Phase}}"])
        #expect(ls.status == 0, "\(ls.all)")
        #expect(ls.stdoutText == "pc1 creating\npc2 creating\n", "\(ls.all)")
        for name in ["pc1", "pc2"] {
            let c = try cli.config(name)
            #expect((c["provisioning"] as? [String: Any])?["phase"] as? String == "creating")
        }
        // The same file again finishes them.
        let again = try await cli.run(["create", "-f", dir + "/fleet.yaml", "--progress", "plain"])
        #expect(again.status == 0, "\(again.all)")
        #expect(try await cli.run(["ls", "--format", "{{.Name}} {{.Phase}}"]).stdoutText == "pc1 ready\npc2 ready\n")
    }
}
