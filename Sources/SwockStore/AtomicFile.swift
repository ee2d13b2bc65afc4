import Foundation
import SwockSupport

/// Whole-file writes that are never seen half-done: a temp file in the same directory, fsync,
/// rename over the target, fsync of the directory. Readers see the old or the new file.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let tmp = try writeTemporary(data, for: path, mode: mode)
        guard rename(tmp, path) == 0 else {
            let why = LocalFileError.errnoText()
            unlink(tmp)
            throw StoreError.io(path: path, reason: why)
        }
        syncDirectory(PathText.parent(path))
    }

    /// Several files that belong together (a certificate and its key): every one is written and
    /// synced under a temporary name first, then they are renamed into place one right after
    /// the other, in the order given. A failure before the renames changes nothing.
    public static func write(_ files: [(path: String, data: Data)], mode: mode_t = 0o600) throws {
        var temporaries: [String] = []
        do {
            for f in files { temporaries.append(try writeTemporary(f.data, for: f.path, mode: mode)) }
        } catch {
            for t in temporaries { unlink(t) }
            throw error
        }
        for (i, (tmp, f)) in zip(temporaries, files).enumerated() where rename(tmp, f.path) != 0 {
            let why = LocalFileError.errnoText()
            for t in temporaries[i...] { unlink(t) }
            throw StoreError.io(path: f.path, reason: why)
        }
        for dir in Set(files.map { PathText.parent($0.path) }) { syncDirectory(dir) }
    }

    /// `data` in a new synced file next to `path` (`.NAME.tmp-PID-RANDOM`, see `Leftover`).
    private static func writeTemporary(_ data: Data, for path: String, mode: mode_t) throws -> String {
        let dir = PathText.parent(path)
        let tmp = "\(dir)/.\(PathText.lastComponent(path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: LocalFileError.errnoText()) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        guard writeAll(fd, data) else {
            let why = LocalFileError.errnoText()
            close(fd)
            throw StoreError.io(path: path, reason: why)
        }
        // The umask may have narrowed the mode; make it exact.
        fchmod(fd, mode)
        guard fsync(fd) == 0 else { let why = LocalFileError.errnoText(); close(fd); throw StoreError.io(path: path, reason: why) }
        close(fd)
        ok = true
        return tmp
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try write(Data(text.utf8), to: path, mode: mode)
    }

    static func syncDirectory(_ dir: String) {
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

}
