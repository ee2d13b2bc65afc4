import CLibSSH
import Foundation

/// What SFTP says about a remote path.
public struct RemoteFileInfo: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, Equatable { case file, directory, symlink, other }
    public var kind: Kind
    /// Permission bits (0o7777).
    public var mode: UInt32
    public var size: UInt64

    public init(kind: Kind, mode: UInt32, size: UInt64) {
        self.kind = kind
        self.mode = mode
        self.size = size
    }

    init(_ a: sftp_attributes) {
        let p = a.pointee.permissions
        switch p & UInt32(S_IFMT) {
        case UInt32(S_IFREG): kind = .file
        case UInt32(S_IFDIR): kind = .directory
        case UInt32(S_IFLNK): kind = .symlink
        default:
            switch Int32(a.pointee.type) {
            case SSH_FILEXFER_TYPE_REGULAR: kind = .file
            case SSH_FILEXFER_TYPE_DIRECTORY: kind = .directory
            case SSH_FILEXFER_TYPE_SYMLINK: kind = .symlink
            default: kind = .other
            }
        }
        mode = p & 0o7777
        size = a.pointee.size
    }
}

/// Called with the number of bytes moved so far (on the session thread).
public typealias TransferProgress = @Sendable (UInt64) -> Void
/// Asked before every chunk; true stops the transfer (cleanly: no temporary file is left).
public typealias TransferStop = @Sendable () -> Bool

/// A transfer ended because its `TransferStop` said so.
public struct SSHTransferStopped: Error, Sendable, Equatable, CustomStringConvertible {
    public init() {}
    public var description: String { "the transfer was stopped" }
}

/// Remote trees over SFTP: stat, listing, directories, symlinks, and file transfers that report
/// progress. Relative paths are relative to the login user's home (SFTP's working directory).
extension SSHSession {
    /// Follows symlinks; nil when nothing is there.
    public func stat(_ path: String) async throws -> RemoteFileInfo? {
        try await worker.run { [self] in try attributes(path, follow: true) }
    }

    /// Does not follow a final symlink; nil when nothing is there.
    public func lstat(_ path: String) async throws -> RemoteFileInfo? {
        try await worker.run { [self] in try attributes(path, follow: false) }
    }

    /// The entries of a directory as the server lists them, "." and ".." included, each with
    /// what lstat would say, sorted by name. The names are the server's word: a caller that
    /// makes paths from them checks them first (see SwockCore's `CopyPlan.checkedEntries`).
    public func listDirectory(_ path: String) async throws -> [(name: String, info: RemoteFileInfo)] {
        try await worker.run { [self] in
            let h = try sftpSession()
            guard let dir = sftp_opendir(h, path) else { throw failure(h, "list", path) }
            defer { sftp_closedir(dir) }
            var out: [(name: String, info: RemoteFileInfo)] = []
            while let a = sftp_readdir(h, dir) {
                defer { sftp_attributes_free(a) }
                guard let n = a.pointee.name else { continue }
                out.append((String(cString: n), RemoteFileInfo(a)))
            }
            guard sftp_dir_eof(dir) != 0 else { throw failure(h, "list", path) }
            return out.sorted { $0.name < $1.name }
        }
    }

    /// Creates one directory with exactly `mode`.
    public func makeDirectory(_ path: String, mode: UInt32) async throws {
        try await worker.run { [self] in
            let h = try sftpSession()
            guard sftp_mkdir(h, path, mode_t(mode)) == SSH_OK else { throw failure(h, "mkdir", path) }
            // The remote umask may have narrowed the mode.
            guard sftp_chmod(h, path, mode_t(mode)) == SSH_OK else { throw failure(h, "chmod", path) }
        }
    }

    public func setMode(_ path: String, mode: UInt32) async throws {
        try await worker.run { [self] in
            let h = try sftpSession()
            guard sftp_chmod(h, path, mode_t(mode)) == SSH_OK else { throw failure(h, "chmod", path) }
        }
    }

    public func readLink(_ path: String) async throws -> String {
        try await worker.run { [self] in
            let h = try sftpSession()
            guard let c = sftp_readlink(h, path) else { throw failure(h, "readlink", path) }
            defer { free(c) }
            return String(cString: c)
        }
    }

    /// Creates a symlink at `path` pointing to `target` (libssh swaps the arguments for OpenSSH).
    public func createSymlink(at path: String, pointingTo target: String) async throws {
        try await worker.run { [self] in
            let h = try sftpSession()
            guard sftp_symlink(h, target, path) == SSH_OK else { throw failure(h, "symlink", path) }
        }
    }

    /// Removes a file or symlink (not a directory).
    public func removeFile(_ path: String) async throws {
        try await worker.run { [self] in
            let h = try sftpSession()
            guard sftp_unlink(h, path) == SSH_OK else { throw failure(h, "remove", path) }
        }
    }

    /// Streams a local file to `remotePath` (atomic, exact `mode`), reporting progress.
    public func uploadFile(
        _ localPath: String, to remotePath: String, mode: UInt32,
        progress: TransferProgress? = nil, stop: TransferStop? = nil
    ) async throws {
        try await worker.run { [self] in
            let fd = open(localPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SSHError.localErrno(localPath) }
            defer { Glibc.close(fd) }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.sftpChunk, alignment: 8)
            defer { buffer.deallocate() }
            var sent: UInt64 = 0
            try uploadBlocking(to: remotePath, mode: mode) { write in
                while true {
                    if stop?() == true { throw SSHTransferStopped() }
                    let n = read(fd, buffer, Self.sftpChunk)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SSHError.localErrno(localPath)
                    }
                    if n == 0 { break }
                    try write(UnsafeRawBufferPointer(start: buffer, count: n))
                    sent += UInt64(n)
                    progress?(sent)
                }
            }
        }
    }

    /// Streams a remote file to `localPath`: written to a hidden temporary file in the same
    /// directory, given exactly `mode`, then renamed over the target; removed on any failure.
    public func downloadFile(
        _ remotePath: String, to localPath: String, mode: UInt32,
        progress: TransferProgress? = nil, stop: TransferStop? = nil
    ) async throws {
        try await worker.run { [self] in
            var received: UInt64 = 0
            try LocalPartialFile.receive(beside: localPath, mode: mode) { file in
                try downloadBlocking(remotePath) { data in
                    if stop?() == true { throw SSHTransferStopped() }
                    try file.write(data)
                    received += UInt64(data.count)
                    progress?(received)
                }
            }
        }
    }

    /// Streams to `remotePath` what `next` returns, chunk by chunk, until it returns nil (atomic,
    /// exact `mode`, like `upload(file:to:mode:)`). `next` runs on the session thread; an error it
    /// throws ends the upload, leaving no temporary file, and is rethrown.
    public func upload(to remotePath: String, mode: UInt32, from next: @escaping @Sendable () throws -> Data?) async throws {
        try await worker.run { [self] in
            try uploadBlocking(to: remotePath, mode: mode) { write in
                while let chunk = try next() {
                    if !chunk.isEmpty { try chunk.withUnsafeBytes { try write($0) } }
                }
            }
        }
    }

    /// Streams a remote file to `sink` in chunks of at most 32 KiB, on the session thread; an error
    /// `sink` throws ends the download and is rethrown.
    public func download(_ remotePath: String, into sink: @escaping @Sendable (Data) throws -> Void) async throws {
        try await worker.run { [self] in try downloadBlocking(remotePath, sink: sink) }
    }

    // MARK: - On the session thread

    private func attributes(_ path: String, follow: Bool) throws -> RemoteFileInfo? {
        let h = try sftpSession()
        guard let a = follow ? sftp_stat(h, path) : sftp_lstat(h, path) else {
            let code = Int32(sftp_get_error(h))
            if code == SSH_FX_NO_SUCH_FILE || code == SSH_FX_NO_SUCH_PATH { return nil }
            throw failure(h, "stat", path)
        }
        defer { sftp_attributes_free(a) }
        return RemoteFileInfo(a)
    }

    private func failure(_ h: sftp_session, _ operation: String, _ path: String) -> SSHError {
        sftpError(h, operation: operation, path: path)
    }
}
