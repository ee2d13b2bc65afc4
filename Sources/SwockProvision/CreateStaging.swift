import Foundation
import SwockStore

/// Where a create keeps the host key it pinned during the pre-create checks: a private folder in
/// the temporary directory, outside the store, so a refused create leaves the store as it was.
enum CreateStaging {
    static let prefix = "swock-create-"

    /// A new staging path for `name` (created by the caller): swock-create-NAME-PID-RANDOM.
    static func path(for name: String) -> String {
        NSTemporaryDirectory() + "\(prefix)\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A create killed before it claimed its name leaves its staging directory (the pinned host
    /// key, no secret) in the temporary folder: the next create takes those whose process is gone.
    static func sweepGoneCreates(minimumAge: TimeInterval = 5) {
        let tmp = NSTemporaryDirectory()
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: tmp)) ?? [] where entry.hasPrefix(prefix) {
            // swock-create-NAME-PID-RANDOM (NAME may hold dashes)
            let parts = entry.split(separator: "-")
            guard parts.count >= 5, UInt32(parts[parts.count - 1]) != nil, let pid = pid_t(parts[parts.count - 2]),
                Leftover.processIsGone(pid)
            else { continue }
            var st = stat()
            guard lstat(tmp + entry, &st) == 0, Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec) >= minimumAge else { continue }
            try? fm.removeItem(atPath: tmp + entry)
        }
    }
}
