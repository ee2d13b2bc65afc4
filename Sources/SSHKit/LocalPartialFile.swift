import Foundation
import Glibc
import SwockSupport

/// Where a download is written before it is whole: `.NAME.swock-partial-RANDOM` in the
/// destination's directory (hidden, so a listing of that directory does not show it as the file),
/// created 0600 with O_EXCL and O_NOFOLLOW; `commit` gives it its mode and renames it over the
/// destination, `discard` removes it. Every failure is the destination's `SSHError.localErrno`.
///
/// `@unchecked Sendable`: used by one thread at a time (the transfer's), never concurrently.
public final class LocalPartialFile: @unchecked Sendable {
    public let path: String
    private let destination: String
    private let fd: Int32
    private var isOpen = true

    /// A partial file beside `destination`, filled by `fill`, then committed with `mode`; on any
    /// error from either, removed and the error rethrown.
    public static func receive(beside destination: String, mode: UInt32, _ fill: (LocalPartialFile) throws -> Void) throws {
        let file = try LocalPartialFile(beside: destination)
        do {
            try fill(file)
            try file.commit(mode: mode)
        } catch {
            file.discard()
            throw error
        }
    }

    public init(beside destination: String) throws {
        // Not NSString's path methods: they crash on one-character names (corelibs Foundation 6.3).
        let slash = destination.lastIndex(of: "/")
        let dir = slash.map { String(destination[...$0]) } ?? ""
        let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        let tmp = dir + ".\(base).swock-partial-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SSHError.localErrno(destination) }
        self.fd = fd
        self.path = tmp
        self.destination = destination
    }

    /// Writes all of `data` (a short write or EINTR is continued).
    public func write(_ data: Data) throws {
        guard writeAll(fd, data) else { throw SSHError.localErrno(destination) }
    }

    /// Gives the file exactly `mode`, syncs and closes it, and renames it over the destination.
    public func commit(mode: UInt32) throws {
        guard fchmod(fd, mode_t(mode)) == 0, fsync(fd) == 0 else { throw SSHError.localErrno(destination) }
        close()
        guard rename(path, destination) == 0 else { throw SSHError.localErrno(destination) }
    }

    /// Closes it if open and removes it (after any failure; a committed file is not touched).
    public func discard() {
        close()
        unlink(path)
    }

    private func close() {
        if isOpen { Glibc.close(fd) }
        isOpen = false
    }
}
