import Foundation

/// The store-wide lock (flock on `<store>/.lock`). It guards the CA and every read-modify-write
/// of shared files. It is held only for local file work, never across network round trips.
public struct StoreLock {
    let path: String

    public func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: AtomicFile.errnoText()) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw StoreError.io(path: path, reason: "cannot lock: \(AtomicFile.errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
