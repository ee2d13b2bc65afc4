import Foundation

/// A local system call that failed on a file: which file, the system's own words, and its error
/// number (decisions are made on `errno`, never on the words).
public struct LocalFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var reason: String
    /// The system's error number, when a system call failed (nil for our own refusals).
    public var errno: Int32?

    public init(path: String, reason: String, errno: Int32? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    /// The error for the current `errno`.
    public static func fromErrno(_ path: String) -> LocalFileError {
        let code = Glibc.errno
        return LocalFileError(path: path, reason: String(cString: strerror(code)), errno: code)
    }

    /// `strerror(errno)`: read it at once, before anything else can change errno.
    public static func errnoText() -> String { String(cString: strerror(Glibc.errno)) }

    public var description: String { "\(path): \(reason)" }
}

extension LocalFileError: CodedError {
    public var code: ErrorCode { "local.file" }
}
