import Foundation
import SwockPKI

/// The entries of an OpenSSH known_hosts file (`create --ssh-known-hosts FILE`) for the hosts
/// a create connects to, so the expected key is known before first contact.
public enum KnownHostsFile {
    /// How known_hosts names a host: `host` on port 22, `[host]:port` otherwise.
    public static func label(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// The keys `text` lists for each of `labels`, as `label keytype base64` lines (unhashed, so
    /// a refusal can name the pinned fingerprints). Names match exactly, in a comma list or
    /// hashed (`|1|salt|hash`); wildcard patterns, negations and `@cert-authority`/`@revoked`
    /// lines are not used.
    public static func entries(in text: String, for labels: [String]) -> [String: [String]] {
        var found: [String: [String]] = [:]
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 3, !fields[0].hasPrefix("#"), !fields[0].hasPrefix("@") else { continue }
            let names = fields[0].split(separator: ",").map(String.init)
            for label in labels where names.contains(where: { matches($0, label) }) {
                let line = "\(label) \(fields[1]) \(fields[2])"
                if !(found[label] ?? []).contains(line) { found[label, default: []].append(line) }
            }
        }
        return found
    }

    static func matches(_ name: String, _ label: String) -> Bool {
        guard name.hasPrefix("|1|") else { return name == label }
        let parts = name.dropFirst(3).split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 2, let salt = Data(base64Encoded: String(parts[0])), let hash = Data(base64Encoded: String(parts[1])) else {
            return false
        }
        return Digests.hmacSHA1(key: salt, message: Data(label.utf8)) == hash
    }
}
