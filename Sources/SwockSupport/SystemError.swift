import Foundation

/// A local system call that failed on a file: which file, and the system's own words.
public struct LocalFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// The error for the current `errno`.
    public static func fromErrno(_ path: String) -> LocalFileError {
        LocalFileError(path: path, reason: errnoText())
    }

    /// `strerror(errno)`: read it at once, before anything else can change errno.
    public static func errnoText() -> String { String(cString: strerror(Glibc.errno)) }

    public var description: String { "\(path): \(reason)" }
}
