import Foundation
import SSHKit

/// Adopting a host's existing /etc/docker/daemon.json:
/// - keys that would clash with our flags (listeners, TLS material) are moved out — dockerd
///   refuses "specified both as a flag and in the configuration file";
/// - `live-restore` is switched on and the running daemon reloaded *before* we restart it, so
///   its running containers survive the restart (an old daemon without live-restore stops
///   them on its way down, whatever the new one says).
/// The original file is kept in a backup (or a marker that there was none) that `rm` restores.
struct DaemonJSON {
    static let path = "/etc/docker/daemon.json"
    static let backup = "/etc/docker/daemon.json.swock-backup"
    static let absentMarker = "/etc/docker/daemon.json.swock-absent"
    static let conflicting: Set<String> = ["hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"]

    var movedKeys: [String]

    var note: String {
        movedKeys.isEmpty ? "" : "; moved \(movedKeys.sorted().joined(separator: ", ")) out of \(Self.path) (original in \(Self.backup))"
    }

    /// The shell that puts the original daemon.json back (used by `rm`).
    static let restoreCommand = """
        if [ -f \(backup) ]; then mv -f \(backup) \(path); elif [ -f \(absentMarker) ]; then rm -f \(path) \(absentMarker); fi
        """

    static func adopt(ssh: SSHSession) async throws -> DaemonJSON {
        let (existed, original) = try await read(ssh)
        var object = original
        let moved = object.keys.filter { conflicting.contains($0) }
        let needsLiveRestore = object["live-restore"] == nil
        guard !moved.isEmpty || needsLiveRestore else { return DaemonJSON(movedKeys: []) }
        for k in moved { object.removeValue(forKey: k) }
        if needsLiveRestore { object["live-restore"] = true }
        try await write(object, existed: existed, ssh: ssh)
        // live-restore is reloadable: tell the running daemon now (SIGHUP), before any restart.
        if needsLiveRestore {
            try await ssh.runAsRoot("pid=$(pidof dockerd) && kill -HUP $pid; sleep 0.3; true", timeout: .seconds(30))
        }
        return DaemonJSON(movedKeys: moved)
    }

    /// Sets `live-restore` in daemon.json and tells the running daemon (SIGHUP: the option is
    /// reloadable, no restart). Swarm mode needs it off: dockerd refuses to init or join a
    /// swarm with live-restore on. The original file is kept as `adopt` keeps it.
    static func setLiveRestore(_ on: Bool, ssh: SSHSession) async throws {
        let (existed, original) = try await read(ssh)
        var object = original
        if (object["live-restore"] as? Bool) == on { return }
        object["live-restore"] = on
        try await write(object, existed: existed, ssh: ssh)
        try await ssh.runAsRoot("pid=$(pidof dockerd) && kill -HUP $pid", timeout: .seconds(30))
    }

    /// The host's daemon.json: whether it exists, and its object (empty when missing or empty).
    private static func read(_ ssh: SSHSession) async throws -> (existed: Bool, object: [String: Any]) {
        let r = try await ssh.execAsRoot("cat \(path) 2>/dev/null", timeout: .seconds(30))
        let text = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.succeeded && !text.isEmpty else { return (r.succeeded, [:]) }
        guard let parsed = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw SSHError.commandFailed(host: ssh.target.host, command: "read \(path)", exitStatus: nil, signal: nil,
                                         stderr: "\(path) is not valid JSON; fix it on the host (dockerd would not start with it either)")
        }
        return (true, parsed)
    }

    /// Writes `object` as daemon.json, keeping the original (or the mark that there was none)
    /// the first time, for `rm` to restore.
    private static func write(_ object: [String: Any], existed: Bool, ssh: SSHSession) async throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let keep = existed
            ? "[ -e \(backup) ] || [ -e \(absentMarker) ] || cp -p \(path) \(backup)"
            : "[ -e \(backup) ] || touch \(absentMarker)"
        try await ssh.runAsRoot("mkdir -p /etc/docker && \(keep)", timeout: .seconds(30))
        try await ssh.installAsRoot(data + Data("\n".utf8), at: path, mode: 0o644)
    }
}
