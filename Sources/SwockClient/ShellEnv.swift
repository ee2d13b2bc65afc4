/// Renders `env` output for each shell, in docker-machine's formats, with values quoted so that
/// any path survives. Pure and unit-tested.
public enum ShellEnv {
    public enum Shell: String, CaseIterable, Sendable {
        case bash, zsh, sh, fish, powershell, cmd, tcsh, emacs, nu
    }

    /// The shell named by $SHELL (basename), falling back to bash.
    public static func detect(shellPath: String?) -> Shell {
        guard let p = shellPath, let base = p.split(separator: "/").last else { return .bash }
        switch base {
        case "fish": return .fish
        case "zsh": return .zsh
        case "tcsh", "csh": return .tcsh
        case "nu": return .nu
        case "pwsh", "powershell": return .powershell
        case "sh", "dash", "ash": return .sh
        default: return .bash
        }
    }

    public static func set(_ vars: [(String, String)], shell: Shell, usage: String) -> String {
        var out = ""
        for (k, v) in vars {
            switch shell {
            case .bash, .zsh, .sh: out += "export \(k)=\(posixDoubleQuoted(v))\n"
            case .fish: out += "set -gx \(k) \(fishQuoted(v));\n"
            case .powershell:
                out +=
                    "$Env:\(k) = \"\(v.replacingOccurrences(of: "`", with: "``").replacingOccurrences(of: "\"", with: "`\"").replacingOccurrences(of: "$", with: "`$"))\"\n"
            case .cmd: out += "SET \(k)=\(v)\n"
            case .tcsh: out += "setenv \(k) \(tcshQuoted(v));\n"
            case .emacs:
                out +=
                    "(setenv \"\(k)\" \"\(v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\")\n"
            case .nu: out += "$env.\(k) = \(nuQuoted(v))\n"
            }
        }
        return out + usageComment(shell: shell, usage: usage)
    }

    public static func unset(_ keys: [String], shell: Shell, usage: String) -> String {
        var out = ""
        for k in keys {
            switch shell {
            case .bash, .zsh, .sh: out += "unset \(k)\n"
            case .fish: out += "set -e \(k);\n"
            case .powershell: out += "Remove-Item Env:\\\\\(k)\n"
            case .cmd: out += "SET \(k)=\n"
            case .tcsh: out += "unsetenv \(k);\n"
            case .emacs: out += "(setenv \"\(k)\" nil)\n"
            case .nu: out += "hide-env \(k)\n"
            }
        }
        return out + usageComment(shell: shell, usage: usage)
    }

    /// The trailing "how to run this" comment; `usage` is the command line, e.g.
    /// `swock-machine env web1`.
    static func usageComment(shell: Shell, usage: String) -> String {
        switch shell {
        case .bash, .zsh, .sh:
            return "# Run this command to configure your shell: \n# eval $(\(usage))\n"
        case .fish:
            return "# Run this command to configure your shell: \n# eval (\(usage))\n"
        case .powershell:
            return "# Run this command to configure your shell: \n# & \(usage) | Invoke-Expression\n"
        case .cmd:
            return "REM Run this command to configure your shell: \nREM \t@FOR /f \"tokens=*\" %i IN ('\(usage)') DO @%i\n"
        case .tcsh:
            return "# Run this command to configure your shell: \n# eval `\(usage)`\n"
        case .emacs:
            return
                ";; Run this command to configure your shell: \n;; (with-temp-buffer (shell-command \"\(usage)\" (current-buffer)) (eval-buffer))\n"
        case .nu:
            return "# Run this command to configure your shell: \n# \(usage) | save -f swock-env.nu; source swock-env.nu\n"
        }
    }

    static func posixDoubleQuoted(_ v: String) -> String {
        var s = "\""
        for c in v {
            if "\"\\$`".contains(c) { s.append("\\") }
            s.append(c)
        }
        return s + "\""
    }

    static func fishQuoted(_ v: String) -> String {
        "\""
            + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(
                of: "$", with: "\\$") + "\""
    }

    static func tcshQuoted(_ v: String) -> String {
        // tcsh expands $, ` and ! inside double quotes; then single quotes are used instead.
        if !v.contains(where: { "$`\"'!\n".contains($0) }) { return "\"\(v)\"" }
        // Inside tcsh single quotes: ' ends the quote, ! needs \!, a newline needs \ before it.
        return "'"
            + v.replacingOccurrences(of: "'", with: "'\\''").replacingOccurrences(of: "!", with: "\\!")
            .replacingOccurrences(of: "\n", with: "\\\n") + "'"
    }

    static func nuQuoted(_ v: String) -> String {
        "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
