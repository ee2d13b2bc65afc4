import Foundation
import SwockStore
import SwockSupport

/// Renders dockerd's flags and configuration files (which file goes where: `InitSystem`). Pure, so every quoting rule is
/// unit-tested: user input (labels, options, environment) reaches dockerd byte for byte and is
/// never interpreted by systemd or a shell.
public enum EngineConfigRenderer {
    public static let remoteDir = "/etc/docker/swock"

    /// Everything dockerd needs after its path: our listeners and TLS, then the user's settings.
    public static func dockerdArguments(engine: EngineSettings, machineLabels: [String: String],
                                        containerdSocket: String?) -> [String] {
        var args = [
            "-H", "unix:///var/run/docker.sock",
            "-H", "tcp://0.0.0.0:\(engine.port)",
            "--tlsverify",
            "--tlscacert=\(remoteDir)/ca.pem",
            "--tlscert=\(remoteDir)/server.pem",
            "--tlskey=\(remoteDir)/server-key.pem",
        ]
        if let containerdSocket { args.append("--containerd=\(containerdSocket)") }
        if let sd = engine.storageDriver, !sd.isEmpty { args.append("--storage-driver=\(sd)") }
        for label in engine.labels { args.append("--label=\(label)") }
        for (k, v) in machineLabels.sorted(by: { $0.key < $1.key }) { args.append("--label=\(k)=\(v)") }
        for m in engine.registryMirrors { args.append("--registry-mirror=\(m)") }
        for r in engine.insecureRegistries { args.append("--insecure-registry=\(r)") }
        for opt in engine.options { args.append(engineOptFlag(opt)) }
        return args
    }

    /// `--engine-opt dns=1.1.1.1` -> `--dns=1.1.1.1`; `--engine-opt debug` -> `--debug`.
    public static func engineOptFlag(_ opt: String) -> String {
        let trimmed = opt.hasPrefix("--") ? String(opt.dropFirst(2)) : opt
        return "--" + trimmed
    }

    /// A systemd drop-in that replaces the stock ExecStart (which carries `-H fd://`).
    public static func systemdUnit(dockerdPath: String, arguments: [String], environment: [String]) -> String {
        var lines = [
            InitSystem.ownHeader,
            "[Service]",
        ]
        for e in environment { lines.append("Environment=\(systemdEnvironmentQuote(e))") }
        lines.append("ExecStart=")
        lines.append("ExecStart=" + ([dockerdPath] + arguments).map(systemdQuote).joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// One word for a systemd unit line: double-quoted, C escapes for `\`, `"` and control
    /// characters, `$$` for `$` (no variable expansion) and `%%` for `%` (no specifiers).
    public static func systemdQuote(_ s: String) -> String {
        quoteForSystemd(s, dollar: "$$")
    }

    /// One `Environment=` assignment: as `systemdQuote`, but `$` stays single (systemd does no
    /// variable expansion there, so `$$` would reach dockerd as two dollars).
    public static func systemdEnvironmentQuote(_ s: String) -> String {
        quoteForSystemd(s, dollar: "$")
    }

    private static func quoteForSystemd(_ s: String, dollar: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "$": out += dollar
            case "%": out += "%%"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + String(format: "%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `/etc/conf.d/docker` (OpenRC) or `/etc/default/docker` (sysvinit): a sh file the init
    /// script sources; DOCKER_OPTS is expanded unquoted there, so only words without spaces work.
    public static func shellConf(variable: String, arguments: [String], environment: [String]) -> String {
        var lines = [InitSystem.ownHeader]
        for e in environment { lines.append("export \(ShellQuote.quote(e))") }
        lines.append("\(variable)=\(ShellQuote.quote(arguments.joined(separator: " ")))")
        return lines.joined(separator: "\n") + "\n"
    }
}
