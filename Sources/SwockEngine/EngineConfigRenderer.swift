import Foundation
import SwockStore
import SwockSupport

/// Renders dockerd's flags and configuration files (which file goes where: `InitSystem`). Pure, so every quoting rule is
/// unit-tested: user input (labels, options, environment) reaches dockerd byte for byte and is
/// never interpreted by systemd or a shell.
public enum EngineConfigRenderer {
    public static let remoteDir = "/etc/docker/swock"

    /// Everything dockerd needs after its path: our listeners and TLS, then the user's settings.
    /// With `settingsInDaemonJSON` (hosts whose init script passes the flags through a shell, see
    /// `InitSystem.passesOptionsThroughShell`), the labels, registry mirrors, insecure registries
    /// and storage driver are left out: they go into daemon.json (`daemonJSONSettings`).
    public static func dockerdArguments(
        engine: EngineSettings, machineLabels: [String: String],
        containerdSocket: String?, settingsInDaemonJSON: Bool = false
    ) -> [String] {
        var args = [
            "-H", "unix:///var/run/docker.sock",
            "-H", "tcp://0.0.0.0:\(engine.port)",
            "--tlsverify",
            "--tlscacert=\(remoteDir)/ca.pem",
            "--tlscert=\(remoteDir)/server.pem",
            "--tlskey=\(remoteDir)/server-key.pem",
        ]
        if let containerdSocket { args.append("--containerd=\(containerdSocket)") }
        if !settingsInDaemonJSON {
            if let sd = engine.storageDriver, !sd.isEmpty { args.append("--storage-driver=\(sd)") }
            for label in engineLabels(engine: engine, machineLabels: machineLabels) { args.append("--label=\(label)") }
            for m in engine.registryMirrors { args.append("--registry-mirror=\(m)") }
            for r in engine.insecureRegistries { args.append("--insecure-registry=\(r)") }
        }
        for opt in engine.options { args.append(engineOptFlag(opt)) }
        return args
    }

    /// The engine's labels: `--engine-label` as given, then the machine's labels by key.
    static func engineLabels(engine: EngineSettings, machineLabels: [String: String]) -> [String] {
        engine.labels + machineLabels.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }
    }

    /// The daemon.json keys for the settings `dockerdArguments(settingsInDaemonJSON: true)` leaves
    /// out (only those that are set). dockerd reads that file itself: no shell sees the values.
    public static func daemonJSONSettings(engine: EngineSettings, machineLabels: [String: String]) -> [String: Any] {
        var out: [String: Any] = [:]
        let labels = engineLabels(engine: engine, machineLabels: machineLabels)
        if !labels.isEmpty { out["labels"] = labels }
        if !engine.registryMirrors.isEmpty { out["registry-mirrors"] = engine.registryMirrors }
        if !engine.insecureRegistries.isEmpty { out["insecure-registries"] = engine.insecureRegistries }
        if let sd = engine.storageDriver, !sd.isEmpty { out["storage-driver"] = sd }
        return out
    }

    /// The first of `arguments` that an init script's shell would not pass on as one word, as it
    /// is (OpenRC's start-stop-daemon evaluates DOCKER_OPTS; the LSB script splits and globs it):
    /// anything but letters, digits and `. _ - / : = , @ + %`. Nil when all are safe.
    public static func firstShellUnsafeArgument(_ arguments: [String]) -> String? {
        arguments.first { arg in
            arg.isEmpty
                || !arg.unicodeScalars.allSatisfy {
                    $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-/:=,@+%".unicodeScalars.contains($0))
                }
        }
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
    /// script sources; DOCKER_OPTS is expanded unquoted there (split, globbed, and evaluated by
    /// OpenRC's start-stop-daemon), so only `firstShellUnsafeArgument`-safe words may go in: the
    /// user's free-form settings go to daemon.json instead.
    public static func shellConf(variable: String, arguments: [String], environment: [String]) -> String {
        var lines = [InitSystem.ownHeader]
        for e in environment { lines.append("export \(ShellQuote.quote(e))") }
        lines.append("\(variable)=\(ShellQuote.quote(arguments.joined(separator: " ")))")
        return lines.joined(separator: "\n") + "\n"
    }
}
