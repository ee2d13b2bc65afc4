import Foundation
import SSHKit
import SwockRemote

/// Adopting a host's existing /etc/docker/daemon.json:
/// - keys that would clash with our flags (listeners, TLS material) are moved out — dockerd
///   refuses "specified both as a flag and in the configuration file";
/// - `live-restore` is switched on and, when containers run, the running daemon reloaded
///   *before* we restart it, so they survive the restart (an old daemon without live-restore
///   stops them on its way down, whatever the new one says).
/// The original file is kept in a backup (or a marker that there was none) that `rm` restores.
package struct DaemonJSON {
    static let path = "/etc/docker/daemon.json"
    static let backup = "/etc/docker/daemon.json.swock-backup"
    static let absentMarker = "/etc/docker/daemon.json.swock-absent"
    static let conflicting: Set<String> = ["hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"]

    var movedKeys: [String]
    /// The daemon.json to install (nil: the host's file stays as it is).
    package var file: RootFile?
    /// Shell (as root) that keeps the original for `rm`, to run before `file` goes in place.
    package var keepCommand: String?
    /// live-restore is switched on: the running daemon must learn it before it is restarted.
    package var switchesOnLiveRestore: Bool

    /// The keys of ours set in the file (`settings` of `plan`).
    var settingKeys: [String] = []

    package var note: String {
        (movedKeys.isEmpty ? "" : "; moved \(movedKeys.sorted().joined(separator: ", ")) out of \(Self.path) (original in \(Self.backup))")
            + (settingKeys.isEmpty ? "" : "; \(settingKeys.sorted().joined(separator: ", ")) in \(Self.path)")
    }

    /// The shell that puts the original daemon.json back (used by `rm`). The shell of this type
    /// is Scripts/daemon-json.sh.
    package static let restoreCommand = Scripts.daemonJSON.command("restore", path, backup, absentMarker)

    /// Shell (as root) for after the new daemon.json is in place and before dockerd restarts:
    /// when containers run (a containerd shim is there), the running daemon reloads its
    /// configuration (SIGHUP; live-restore is reloadable) so that they survive the restart. An
    /// old daemon without live-restore stops them on its way down, whatever the new one says.
    package static let reloadIfContainersRun = Scripts.daemonJSON.command("reload-if-containers")

    /// The running daemon reloads daemon.json (fails when none runs).
    static let reloadCommand = Scripts.daemonJSON.command("reload")

    /// What adopting the host's daemon.json takes (read over `ssh`, planned by `plan`).
    package static func adoption(ssh: any RemoteHost, settings: [String: Any] = [:]) async throws -> DaemonJSON {
        let (existed, object) = try await read(ssh)
        return try plan(existed: existed, object: object, settings: settings)
    }

    /// Adopting a daemon.json (`object`; `existed`: there was a file): the conflicting keys move
    /// out, live-restore goes on, and `settings` (the engine's own settings on hosts whose init
    /// script would pass flags through a shell: `EngineConfigRenderer.daemonJSONSettings`) are
    /// set, replacing the host's values of those keys (as flags they would clash with them).
    /// Nothing to write when none of that changes the file.
    static func plan(existed: Bool, object original: [String: Any], settings: [String: Any] = [:]) throws -> DaemonJSON {
        var object = original
        let moved = object.keys.filter { conflicting.contains($0) }.sorted()
        let needsLiveRestore = object["live-restore"] == nil
        let changedSettings = settings.keys.filter { k in
            guard let old = object[k] else { return true }
            return !NSDictionary(dictionary: [k: old]).isEqual(to: [k: settings[k]!])
        }
        guard !moved.isEmpty || needsLiveRestore || !changedSettings.isEmpty else {
            return DaemonJSON(movedKeys: [], file: nil, keepCommand: nil, switchesOnLiveRestore: false, settingKeys: settings.keys.sorted())
        }
        for k in moved { object.removeValue(forKey: k) }
        if needsLiveRestore { object["live-restore"] = true }
        for (k, v) in settings { object[k] = v }
        return DaemonJSON(
            movedKeys: moved, file: try file(object), keepCommand: keepCommand(existed: existed),
            switchesOnLiveRestore: needsLiveRestore, settingKeys: settings.keys.sorted())
    }

    /// Sets `live-restore` in daemon.json and tells the running daemon (SIGHUP: the option is
    /// reloadable, no restart). Swarm mode needs it off: dockerd refuses to init or join a
    /// swarm with live-restore on. The original file is kept as `adopt` keeps it.
    package static func setLiveRestore(_ on: Bool, ssh: any RemoteHost) async throws {
        let (existed, original) = try await read(ssh)
        var object = original
        if (object["live-restore"] as? Bool) == on { return }
        object["live-restore"] = on
        let hup = reloadCommand
        guard
            let r = try await ssh.installAsRoot(
                [try file(object)], before: keepCommand(existed: existed), then: hup, timeout: SSHOptions.shortCommandTimeout),
            r.succeeded
        else {
            throw SSHError.commandFailed(
                host: ssh.target.host, command: hup, exitStatus: nil, signal: nil,
                stderr: "dockerd is not running, so it could not reload \(path)")
        }
    }

    /// The host's daemon.json: whether it exists, and its object (empty when missing or empty).
    private static func read(_ ssh: any RemoteHost) async throws -> (existed: Bool, object: [String: Any]) {
        let r = try await ssh.execAsRoot("cat \(path) 2>/dev/null", timeout: SSHOptions.shortCommandTimeout)
        let text = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.succeeded && !text.isEmpty else { return (r.succeeded, [:]) }
        guard let parsed = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw SSHError.commandFailed(
                host: ssh.target.host, command: "read \(path)", exitStatus: nil, signal: nil,
                stderr: "\(path) is not valid JSON; fix it on the host (dockerd would not start with it either)")
        }
        return (true, parsed)
    }

    private static func file(_ object: [String: Any]) throws -> RootFile {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return RootFile(path, data + Data("\n".utf8), mode: 0o644)
    }

    /// Keeps the original (or the mark that there was none) the first time, for `rm` to restore.
    private static func keepCommand(existed: Bool) -> String {
        Scripts.daemonJSON.command("keep", existed ? "existed" : "absent", path, backup, absentMarker)
    }
}
