import Foundation
import Glibc

/// Where a download is written before it is whole: `.NAME.swock-partial-RANDOM` in the
/// destination's directory (hidden, so a listing of that directory does not show it as the file),
/// created 0600 with O_EXCL and O_NOFOLLOW, then renamed over the destination by the caller.
public enum LocalPartialFile {
    /// The open descriptor and the path; throws the destination's `SSHError.localErrno` when it
    /// cannot be created.
    public static func create(beside localPath: String) throws -> (fd: Int32, path: String) {
        // Not NSString's path methods: they crash on one-character names (corelibs Foundation 6.3).
        let slash = localPath.lastIndex(of: "/")
        let dir = slash.map { String(localPath[...$0]) } ?? ""
        let base = slash.map { String(localPath[localPath.index(after: $0)...]) } ?? localPath
        let tmp = dir + ".\(base).swock-partial-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SSHError.localErrno(localPath) }
        return (fd, tmp)
    }
}
