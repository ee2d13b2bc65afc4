import Foundation
import SwockSupport

/// The store-wide lock (flock on `<store>/.lock`). It guards the CA and every read-modify-write
/// of shared files. It is held only for local file work, never across network round trips.
public struct StoreLock: Sendable {
    let path: String

    public func withLock<T>(_ body: () throws -> T) throws -> T {
        do {
            return try FileLock(path: path).withLock(body)
        } catch let e as LocalFileError where e.path == path {
            throw StoreError.io(path: e.path, reason: e.reason)
        }
    }

    /// `body` under the lock when nobody holds it; nil, without running `body`, when somebody
    /// does (for work that may as well be left to the next run, such as refreshing a cache).
    public func withLockIfFree<T>(_ body: () throws -> T) throws -> T? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: LocalFileError.errnoText()) }
        defer { close(fd) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { return nil }
            if errno != EINTR { throw StoreError.io(path: path, reason: "cannot lock: \(LocalFileError.errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
