import FleetSupport
import Foundation
import SwockStore
import Testing

/// `completion bash|zsh|fish`, tried in real interactive shells (in tmux) by pressing Tab:
/// subcommands and flags complete, and machine names come from the store the command line
/// points at.
@Suite(.enabled(if: ShellDriver.available, "tmux is missing (scripts/deps installs it)"))
struct CompletionTests {
    static func record(_ name: String) -> MachineConfig {
        MachineConfig(
            name: name, address: "10.231.254.1",
            ssh: SSHSettings(
                user: "root", port: 22, authMode: .key, keyPath: "/nonexistent/key", knownHostsPath: Store.knownHostsPath(name)),
            engine: EngineSettings(), tls: TLSSettings(keyType: "ecdsa"))
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func tabCompletesCommandsFlagsAndMachineNames(shell: String) async throws {
        let cli = CLI(), other = CLI()
        defer { cli.cleanup(); other.cleanup() }
        for n in ["web1", "web2", "db1"] { try Store(root: cli.store).reserve(Self.record(n)) }
        try Store(root: other.store).reserve(Self.record("elsewhere1"))
        let script = try await cli.run(["completion", shell])
        #expect(script.status == 0, "\(script.all)")
        let file = cli.dockerConfig + "-completion.\(shell)"
        try script.stdout.write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }

        let bin = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path
        let home = cli.dockerConfig + "-home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = [
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "SWOCK_MACHINE_STORAGE_PATH": cli.store, "HOME": home, "TERM": "xterm",
        ]
        let sh = try await ShellDriver(shell, environment: env)
        defer { Task { await sh.close() } }
        switch shell {
        case "bash": try await sh.line("PS1='$ '; source '\(file)'")
        case "zsh": try await sh.line("PS1='%% '; autoload -U compinit && compinit -u; source '\(file)'")
        default: try await sh.line("function fish_prompt; echo '> '; end; source '\(file)'")
        }
        try await sh.waitForPrompt()
        try await sh.clearScreen()

        let sub = try await sh.complete("swock-machine regen", expect: "swock-machine regenerate-certs")
        #expect(sub.contains("swock-machine regenerate-certs"), "\(shell): subcommand not completed:\n\(sub)")
        let flag = try await sh.complete("swock-machine ls --for", expect: "swock-machine ls --format")
        #expect(flag.contains("swock-machine ls --format"), "\(shell): flag not completed:\n\(flag)")
        let one = try await sh.complete("swock-machine env d", expect: "swock-machine env db1")
        #expect(one.contains("swock-machine env db1"), "\(shell): machine name not completed:\n\(one)")
        let two = try await sh.complete("swock-machine ssh we", expect: "web2")
        #expect(two.contains("web1") && two.contains("web2") && !two.contains("db1"), "\(shell): candidates:\n\(two)")
        // --storage-path on the line (quoted, with the space every test store has) wins.
        let elsewhere = try await sh.complete("swock-machine ip -s '\(other.store)' el", expect: "elsewhere1")
        #expect(elsewhere.contains("elsewhere1"), "\(shell): --storage-path not followed:\n\(elsewhere)")
    }
}
