import Foundation

/// An exclusive advisory lock (flock) on a file, held for the duration of `body`. The lock is
/// released when the process dies, so a killed holder never leaves it taken.
public struct FileLock: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LocalFileError.fromErrno(path) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw LocalFileError(path: path, reason: "cannot lock: \(LocalFileError.errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
