import FleetSupport
import Foundation

/// A real interactive shell (bash, zsh or fish) in a private tmux server: keys go in with
/// `send-keys`, the screen comes back with `capture-pane`. Completion scripts are tried the
/// way a user meets them: by pressing Tab.
struct ShellDriver {
    let socket = "swock-test-\(UUID().uuidString.prefix(8))"
    let shell: String

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    /// Starts `shell` with a plain prompt and `environment` added to ours.
    init(_ shell: String, environment: [String: String]) async throws {
        self.shell = shell
        let command: String
        switch shell {
        case "bash": command = "bash --norc --noprofile"
        case "zsh": command = "zsh -f"
        default: command = "fish --no-config"
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        // The tmux server outlives this call: it must hold no pipe open, neither ours nor one
        // another test's spawn leaked into us at that moment (or their reads never end).
        let start = """
            for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"; done
            exec tmux -L "$0" -f /dev/null new-session -d -s t -x 200 -y 50 "$1" </dev/null >/dev/null 2>&1
            """
        let r = try await Subprocess.run(["bash", "-c", start, socket, command], environment: env)
        guard r.status == 0 else { throw Fleet.Failure(description: "tmux new-session: \(r.all)") }
    }

    func line(_ text: String) async throws {
        _ = try await Subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "t", "-l", text])
        _ = try await Subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "t", "Enter"])
    }

    /// Types `text`, then presses Tab once a second (bash lists candidates on the second
    /// press, zsh and fish show their menus) until the screen shows `expect` or `seconds` pass;
    /// returns the screen.
    func complete(_ text: String, expect: String, seconds: Double = 10) async throws -> String {
        _ = try await Subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "t", "-l", text])
        let deadline = ContinuousClock.now + .seconds(seconds)
        var screen = ""
        var nextTab = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if ContinuousClock.now >= nextTab {
                _ = try await Subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "t", "Tab"])
                nextTab = ContinuousClock.now + .seconds(1)
            }
            try await Task.sleep(for: .milliseconds(100))
            screen = try await capture()
            if screen.contains(expect) { break }
        }
        try await clearScreen()
        return screen
    }

    /// Kills the typed line and clears the screen, and waits until the screen shows the prompt
    /// alone: a shell still busy with a completion can swallow Ctrl-C, and then "clear" would be
    /// typed onto the old line (fish did once, and the next screen still showed it).
    func clearScreen() async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        var screen = ""
        while ContinuousClock.now < deadline {
            _ = try await Subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "t", "C-c"])
            try await Task.sleep(for: .milliseconds(200))
            _ = try await Subprocess.run(["tmux", "-L", socket, "send-keys", "-t", "t", "C-u", "clear", "Enter"])
            let settle = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < settle {
                try await Task.sleep(for: .milliseconds(100))
                screen = try await capture()
                if Self.lines(screen) == [prompt] { return }
            }
        }
        throw Fleet.Failure(description: "\(shell): the screen did not come back to an empty prompt:\n\(screen)")
    }

    /// Waits until the shell has finished the line it was given and shows its prompt again.
    func waitForPrompt(seconds: Double = 20) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var screen = ""
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            screen = try await capture()
            if Self.lines(screen).last == prompt { return }
        }
        throw Fleet.Failure(description: "\(shell): no prompt after \(seconds) s:\n\(screen)")
    }

    /// The prompt each shell is given (`PS1`, `fish_prompt`) by the tests, without its space.
    var prompt: String { shell == "bash" ? "$" : shell == "zsh" ? "%" : ">" }

    static func lines(_ screen: String) -> [String] {
        screen.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func capture() async throws -> String {
        try await Subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", "t"]).stdoutText
    }

    func close() async {
        _ = try? await Subprocess.run(["tmux", "-L", socket, "kill-server"])
    }
}
