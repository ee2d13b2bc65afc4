import FleetSupport
import Foundation
import Testing

@testable import SwockClient

@Suite struct ShellEnvGoldenTests {
    static let vars = [
        ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_HOST", "tcp://10.0.0.5:2376"),
        ("DOCKER_CERT_PATH", "/home/u/.swock/machine/machines/web1"), ("DOCKER_MACHINE_NAME", "web1"),
    ]
    static let usage = "swock-machine env web1"

    @Test(arguments: [
        (
            ShellEnv.Shell.bash,
            """
            export DOCKER_TLS_VERIFY="1"
            export DOCKER_HOST="tcp://10.0.0.5:2376"
            export DOCKER_CERT_PATH="/home/u/.swock/machine/machines/web1"
            export DOCKER_MACHINE_NAME="web1"
            # Run this command to configure your shell: 
            # eval $(swock-machine env web1)

            """
        ),
        (
            .fish,
            """
            set -gx DOCKER_TLS_VERIFY "1";
            set -gx DOCKER_HOST "tcp://10.0.0.5:2376";
            set -gx DOCKER_CERT_PATH "/home/u/.swock/machine/machines/web1";
            set -gx DOCKER_MACHINE_NAME "web1";
            # Run this command to configure your shell: 
            # eval (swock-machine env web1)

            """
        ),
        (
            .powershell,
            """
            $Env:DOCKER_TLS_VERIFY = "1"
            $Env:DOCKER_HOST = "tcp://10.0.0.5:2376"
            $Env:DOCKER_CERT_PATH = "/home/u/.swock/machine/machines/web1"
            $Env:DOCKER_MACHINE_NAME = "web1"
            # Run this command to configure your shell: 
            # & swock-machine env web1 | Invoke-Expression

            """
        ),
        (
            .cmd,
            """
            SET DOCKER_TLS_VERIFY=1
            SET DOCKER_HOST=tcp://10.0.0.5:2376
            SET DOCKER_CERT_PATH=/home/u/.swock/machine/machines/web1
            SET DOCKER_MACHINE_NAME=web1
            REM Run this command to configure your shell: 
            REM \t@FOR /f "tokens=*" %i IN ('swock-machine env web1') DO @%i

            """
        ),
        (
            .tcsh,
            """
            setenv DOCKER_TLS_VERIFY "1";
            setenv DOCKER_HOST "tcp://10.0.0.5:2376";
            setenv DOCKER_CERT_PATH "/home/u/.swock/machine/machines/web1";
            setenv DOCKER_MACHINE_NAME "web1";
            # Run this command to configure your shell: 
            # eval `swock-machine env web1`

            """
        ),
        (
            .emacs,
            """
            (setenv "DOCKER_TLS_VERIFY" "1")
            (setenv "DOCKER_HOST" "tcp://10.0.0.5:2376")
            (setenv "DOCKER_CERT_PATH" "/home/u/.swock/machine/machines/web1")
            (setenv "DOCKER_MACHINE_NAME" "web1")
            ;; Run this command to configure your shell: 
            ;; (with-temp-buffer (shell-command "swock-machine env web1" (current-buffer)) (eval-buffer))

            """
        ),
        (
            .nu,
            """
            $env.DOCKER_TLS_VERIFY = "1"
            $env.DOCKER_HOST = "tcp://10.0.0.5:2376"
            $env.DOCKER_CERT_PATH = "/home/u/.swock/machine/machines/web1"
            $env.DOCKER_MACHINE_NAME = "web1"
            # Run this command to configure your shell: 
            # swock-machine env web1 | save -f swock-env.nu; source swock-env.nu

            """
        ),
    ])
    func set(shell: ShellEnv.Shell, expected: String) {
        #expect(ShellEnv.set(Self.vars, shell: shell, usage: Self.usage) == expected)
    }

    @Test func zshAndShMatchBash() {
        let bash = ShellEnv.set(Self.vars, shell: .bash, usage: Self.usage)
        #expect(ShellEnv.set(Self.vars, shell: .zsh, usage: Self.usage) == bash)
        #expect(ShellEnv.set(Self.vars, shell: .sh, usage: Self.usage) == bash)
    }

    @Test(arguments: [
        (ShellEnv.Shell.bash, "unset A\nunset B\n"), (.zsh, "unset A\nunset B\n"), (.sh, "unset A\nunset B\n"),
        (.fish, "set -e A;\nset -e B;\n"),
        (.powershell, "Remove-Item Env:\\\\A\nRemove-Item Env:\\\\B\n"),
        (.cmd, "SET A=\nSET B=\n"),
        (.tcsh, "unsetenv A;\nunsetenv B;\n"),
        (.emacs, "(setenv \"A\" nil)\n(setenv \"B\" nil)\n"),
        (.nu, "hide-env A\nhide-env B\n"),
    ])
    func unset(shell: ShellEnv.Shell, expected: String) {
        let u = "swock-machine env --unset"
        #expect(ShellEnv.unset(["A", "B"], shell: shell, usage: u) == expected + ShellEnv.usageComment(shell: shell, usage: u))
    }

    /// Values with quotes, `$`, backslashes and backticks, per shell's own quoting.
    @Test(arguments: [
        (ShellEnv.Shell.bash, #"export K="a \"b\" \$c \\d \`e\` 'f'""#),
        (.fish, #"set -gx K "a \"b\" \$c \\d `e` 'f'";"#),
        (.powershell, #"$Env:K = "a `"b`" `$c \d ``e`` 'f'""#),
        (.cmd, #"SET K=a "b" $c \d `e` 'f'"#),
        (.tcsh, #"setenv K 'a "b" $c \d `e` '\''f'\''';"#),
        (.emacs, #"(setenv "K" "a \"b\" $c \\d `e` 'f'")"#),
        (.nu, #"$env.K = "a \"b\" $c \\d `e` 'f'""#),
    ])
    func quoting(shell: ShellEnv.Shell, line: String) {
        let out = ShellEnv.set([("K", #"a "b" $c \d `e` 'f'"#)], shell: shell, usage: "u")
        #expect(out.split(separator: "\n").first.map(String.init) == line)
    }

    @Test func tcshHistoryBang() {
        #expect(ShellEnv.set([("K", "a!b")], shell: .tcsh, usage: "u").hasPrefix(#"setenv K 'a\!b';"#))
        #expect(ShellEnv.set([("K", "plain path")], shell: .tcsh, usage: "u").hasPrefix(#"setenv K "plain path";"#))
    }

    @Test(arguments: [
        (String?.none, ShellEnv.Shell.bash), ("", .bash), ("/bin/bash", .bash), ("/usr/bin/zsh", .zsh), ("/bin/sh", .sh),
        ("/bin/dash", .sh), ("/bin/ash", .sh), ("/usr/local/bin/fish", .fish), ("/bin/tcsh", .tcsh), ("/bin/csh", .tcsh),
        ("/usr/bin/nu", .nu), ("/usr/bin/pwsh", .powershell), ("powershell", .powershell), ("/opt/weird/ksh", .bash),
        ("zsh", .zsh), ("/usr/bin/fish/", .fish),
    ])
    func detect(path: String?, shell: ShellEnv.Shell) {
        #expect(ShellEnv.detect(shellPath: path) == shell)
    }
}

/// The output evaluated by the real shells that are installed here: the value arrives byte-exact.
@Suite struct ShellEnvEvalTests {
    /// How to load a file in each shell and then run `env -0`; nil for shells that cannot run here.
    static func command(_ shell: ShellEnv.Shell, file: String, out: String) -> (program: String, argv: [String])? {
        switch shell {
        case .bash: return ("bash", ["-c", #"eval "$(cat "$1")" && exec env -0"#, "bash", file])
        case .sh: return ("sh", ["-c", #"eval "$(cat "$1")" && exec env -0"#, "sh", file])
        case .zsh: return ("zsh", ["-f", "-c", #"eval "$(cat "$1")" && exec env -0"#, "zsh", file])
        case .fish: return ("fish", ["--no-config", "-c", "source $argv[1]; and exec env -0", file])
        case .tcsh: return ("tcsh", ["-f", "-c", "source \(file) && exec env -0"])
        case .powershell:
            return ("pwsh", ["-NoProfile", "-NonInteractive", "-Command", "Get-Content -Raw '\(file)' | Invoke-Expression; & env -0"])
        case .nu: return ("nu", ["--no-config-file", "-c", "source \(file); ^env -0"])
        case .emacs:
            return (
                "emacs",
                [
                    "-Q", "--batch", "-l", file, "--eval",
                    "(let ((coding-system-for-write 'utf-8-unix)) (call-process \"env\" nil (list :file \"\(out)\") nil \"-0\"))",
                ]
            )
        case .cmd: return nil
        }
    }

    @Test(arguments: ShellEnv.Shell.allCases)
    func evaluates(shell: ShellEnv.Shell) throws {
        guard let cmd = Self.command(shell, file: "", out: "") else {
            print("SKIP env eval for \(shell): cmd.exe does not run here"); return
        }
        guard let program = findExecutable(cmd.program) else {
            print("SKIP env eval for \(shell): \(cmd.program) is not installed"); return
        }
        let dir = try TempDir("env")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        // Paths without spaces for the shells whose command line above does not quote them.
        let file = "/tmp/swock-env-\(UUID().uuidString).\(shell.rawValue)"
        let out = "/tmp/swock-env-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: file); try? FileManager.default.removeItem(atPath: out) }
        let value = "/tmp/it's a \"dir\" $HOME ${PATH} `touch \(pwned.path)` $(touch \(pwned.path)) \\back\\ !bang %PATH%\nline2\ttab é"
        let vars = [("DOCKER_CERT_PATH", value), ("DOCKER_HOST", "tcp://10.0.0.5:2376"), ("SWOCK_EMPTY", "")]
        try ShellEnv.set(vars, shell: shell, usage: "swock-machine env web1").write(toFile: file, atomically: true, encoding: .utf8)

        let c = Self.command(shell, file: file, out: out)!
        let r = try Subprocess.runBlocking([program] + c.argv, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": dir.path])
        #expect(r.status == 0, "\(shell): \(r.stderrText)")
        let env = envDump(shell == .emacs ? ((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()) : r.stdout)
        for (k, v) in vars {
            #expect(env[k] == v, "\(shell): \(k) arrived as \(String(describing: env[k]?.debugDescription))")
        }
        #expect(!pwned.happened, "\(shell) executed part of the value")

        // And the unset form removes them again.
        try (ShellEnv.set(vars, shell: shell, usage: "u") + ShellEnv.unset(vars.map(\.0), shell: shell, usage: "u"))
            .write(toFile: file, atomically: true, encoding: .utf8)
        let u = try Subprocess.runBlocking([program] + c.argv, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": dir.path])
        #expect(u.status == 0, "\(shell): \(u.stderrText)")
        let after = envDump(shell == .emacs ? ((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()) : u.stdout)
        #expect(
            after["DOCKER_CERT_PATH"] == nil && after["DOCKER_HOST"] == nil,
            "\(shell): unset left \(after.keys.filter { $0.hasPrefix("DOCKER") })")
    }
}
