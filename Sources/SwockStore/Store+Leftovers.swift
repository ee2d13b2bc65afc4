import Foundation
import SwockSupport

/// What a process killed mid-write leaves in the store, and taking it away.
///
/// Every write in the store goes through a hidden name first: `AtomicFile`'s temporary files
/// (`.FILE.tmp-PID-RANDOM`), the staging directories in which create and import assemble a
/// machine (`.claim-PID-RANDOM-NAME`, `.importing-PID-RANDOM-NAME`), and a removed machine's
/// directory on its way out (`.removing-PID-RANDOM-NAME`). Listings never show hidden names;
/// `sweepLeftovers` removes those whose process is gone.
public enum Leftover {
    public enum Kind: String, Sendable, CaseIterable {
        case claim, importing, removing
    }

    /// A fresh hidden name for `kind` work on machine `name` by this process.
    static func name(_ kind: Kind, for name: String) -> String {
        ".\(kind.rawValue)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
    }

    /// The PID in a hidden name this store writes, nil for any other name.
    static func pid(inHiddenName name: String) -> pid_t? {
        guard name.hasPrefix(".") else { return nil }
        if let range = name.range(of: ".tmp-", options: .backwards) {
            // .FILE.tmp-PID-RANDOM
            let parts = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, UInt32(parts[1]) != nil else { return nil }
            return pid_t(parts[0])
        }
        // .KIND-PID-RANDOM-NAME, and the older .removing-NAME-PID
        let parts = name.dropFirst().split(separator: "-", maxSplits: 3, omittingEmptySubsequences: false)
        guard let kind = parts.first, Kind(rawValue: String(kind)) != nil, parts.count >= 3 else { return nil }
        if parts.count == 4, let pid = pid_t(parts[1]), UInt32(parts[2]) != nil { return pid }
        if kind == "removing", let last = name.split(separator: "-").last { return pid_t(last) }
        return nil
    }

    /// No process with this PID exists here.
    package static func processIsGone(_ pid: pid_t) -> Bool {
        pid > 0 && kill(pid, 0) != 0 && errno == ESRCH
    }
}

extension Store {
    /// Removes the leftovers (see `Leftover`) of processes that are gone: in the store's root,
    /// `certs/`, `cas/*`, `machines/` and every machine's directory. Only those older than
    /// `minimumAge` (a store shared by two PID namespaces may show a live writer as gone; its
    /// writes take milliseconds). Best effort: what cannot be removed stays.
    /// Create, rm and ls run it, so the next command after a crash cleans up.
    /// Returns the paths removed, relative to the store.
    @discardableResult
    public func sweepLeftovers(minimumAge: TimeInterval = 5, now: Date = Date()) -> [String] {
        let fm = FileManager.default
        var dirs = [root, certsDir, machinesDir]
        dirs += ((try? fm.contentsOfDirectory(atPath: root + "/cas")) ?? []).map { root + "/cas/" + $0 }
        dirs += names().map(machineDir)
        dirs += names().map { machineDir($0) + "/" + Self.pinnedTLSFolder }
        var removed: [String] = []
        for dir in dirs {
            guard let entries = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for entry in entries {
                guard let pid = Leftover.pid(inHiddenName: entry), Leftover.processIsGone(pid) else { continue }
                let path = dir + "/" + entry
                var st = stat()
                guard lstat(path, &st) == 0, now.timeIntervalSince1970 - Double(st.st_mtim.tv_sec) >= minimumAge else { continue }
                if (try? fm.removeItem(atPath: path)) != nil { removed.append(relative(path)) }
            }
        }
        return removed
    }
}

extension Store {
    /// The folder under a machine's directory with the docker CLI's files for a machine behind
    /// jump hosts (written by SwockRemote's `dockerCertPath`; swept here like the rest).
    public static let pinnedTLSFolder = "pinned-tls"
}
