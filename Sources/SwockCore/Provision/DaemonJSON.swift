import Foundation
import SSHKit

/// Adopting a host whose /etc/docker/daemon.json already sets listeners or TLS material: those
/// keys would clash with our flags (dockerd refuses "specified both as a flag and in the
/// configuration file"). They are moved aside into a backup that `rm` restores; everything else
/// in the file stays.
struct DaemonJSON {
    static let path = "/etc/docker/daemon.json"
    static let backup = "/etc/docker/daemon.json.swock-backup"
    static let conflicting: Set<String> = ["hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"]

    var setsLiveRestore: Bool
    var movedKeys: [String]

    var note: String {
        movedKeys.isEmpty ? "" : "; moved \(movedKeys.sorted().joined(separator: ", ")) out of \(Self.path) (original in \(Self.backup))"
    }

    static func adopt(ssh: SSHSession) async throws -> DaemonJSON {
        let r = try await ssh.execAsRoot("cat \(path) 2>/dev/null || true", timeout: .seconds(30))
        let text = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return DaemonJSON(setsLiveRestore: false, movedKeys: []) }
        guard var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw SSHError.commandFailed(host: ssh.target.host, command: "read \(path)", exitStatus: nil, signal: nil,
                                         stderr: "\(path) is not valid JSON; fix it on the host (dockerd would not start with it either)")
        }
        let moved = object.keys.filter { conflicting.contains($0) }
        let liveRestore = object["live-restore"] != nil
        if !moved.isEmpty {
            for k in moved { object.removeValue(forKey: k) }
            let cleaned = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try await ssh.runAsRoot("[ -e \(backup) ] || cp -p \(path) \(backup)", timeout: .seconds(30))
            try await ssh.installAsRoot(cleaned + Data("\n".utf8), at: path, mode: 0o644)
        }
        return DaemonJSON(setsLiveRestore: liveRestore, movedKeys: moved)
    }
}
