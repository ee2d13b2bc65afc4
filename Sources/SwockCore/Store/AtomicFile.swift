import Foundation
import SwockSupport

/// Whole-file writes that are never seen half-done: a temp file in the same directory, fsync,
/// rename over the target, fsync of the directory. Readers see the old or the new file.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let dir = PathText.parent(path)
        let tmp = "\(dir)/.\(PathText.lastComponent(path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: LocalFileError.errnoText()) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        try data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    let why = LocalFileError.errnoText()
                    close(fd)
                    throw StoreError.io(path: path, reason: why)
                }
                off += n
            }
        }
        // The umask may have narrowed the mode; make it exact.
        fchmod(fd, mode)
        guard fsync(fd) == 0 else { let why = LocalFileError.errnoText(); close(fd); throw StoreError.io(path: path, reason: why) }
        close(fd)
        guard rename(tmp, path) == 0 else { throw StoreError.io(path: path, reason: LocalFileError.errnoText()) }
        ok = true
        syncDirectory(dir)
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try write(Data(text.utf8), to: path, mode: mode)
    }

    static func syncDirectory(_ dir: String) {
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

}
