import CLibSSH
import Foundation
import SwockSupport

/// SFTP transfers. Writes go in chunks of at most 32 KiB (one larger `sftp_write` kills the SFTP
/// channel on libssh 0.10), and every upload replaces its target atomically: the bytes land in a
/// temporary name in the same directory, which is then moved over the target.
extension SSHSession {
    static let sftpChunk = 32 * 1024

    /// Uploads `data` to `remotePath` with `mode` (set at creation, never wider in between).
    public func upload(_ data: Data, to remotePath: String, mode: UInt32 = 0o644) async throws {
        try await worker.run { [self] in
            try uploadBlocking(to: remotePath, mode: mode) { write in
                var offset = 0
                while offset < data.count {
                    let n = min(Self.sftpChunk, data.count - offset)
                    try data[data.startIndex + offset..<data.startIndex + offset + n].withUnsafeBytes { try write($0) }
                    offset += n
                }
            }
        }
    }

    /// Streams a local file to `remotePath` (any size; memory use stays at one chunk).
    public func upload(file localPath: String, to remotePath: String, mode: UInt32 = 0o644) async throws {
        try await worker.run { [self] in
            guard let fh = FileHandle(forReadingAtPath: localPath) else {
                throw SSHError.localIO(path: localPath, reason: "cannot open for reading")
            }
            defer { try? fh.close() }
            try uploadBlocking(to: remotePath, mode: mode) { write in
                while true {
                    let chunk = try fh.read(upToCount: Self.sftpChunk) ?? Data()
                    if chunk.isEmpty { break }
                    try chunk.withUnsafeBytes { try write($0) }
                }
            }
        }
    }

    /// Reads a whole remote file.
    public func download(_ remotePath: String) async throws -> Data {
        try await worker.run { [self] in
            var out = Data()
            try downloadBlocking(remotePath) { out.append($0) }
            return out
        }
    }

    /// Streams a remote file to a local path, written atomically (temp + rename).
    public func download(_ remotePath: String, toFile localPath: String, mode: mode_t = 0o644) async throws {
        try await worker.run { [self] in
            let tmp = localPath + ".swock-partial-\(UInt32.random(in: 0...UInt32.max))"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode)
            guard fd >= 0 else { throw SSHError.localErrno(localPath) }
            let fh = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            do {
                try downloadBlocking(remotePath) { try fh.write(contentsOf: $0) }
                try fh.synchronize()
                try fh.close()
                guard rename(tmp, localPath) == 0 else { throw SSHError.localErrno(localPath) }
            } catch {
                try? fh.close()
                unlink(tmp)
                throw error
            }
        }
    }

    // MARK: - On the session thread

    func sftpSession() throws -> sftp_session {
        if let h = sftpHandle { return h }
        let s = try liveSession()
        guard let h = sftp_new(s) else {
            throw SSHError.sftpFailed(host: target.host, operation: "start", path: "", reason: LibSSH.lastError(s))
        }
        guard sftp_init(h) == SSH_OK else {
            let reason = LibSSH.lastError(s)
            sftp_free(h)
            throw SSHError.sftpFailed(
                host: target.host, operation: "start", path: "", reason: "\(reason) (is the sftp subsystem enabled in sshd_config?)")
        }
        sftpHandle = h
        return h
    }

    func sftpError(_ h: sftp_session, operation: String, path: String) -> SSHError {
        let status = sftpStatus(h)
        return .sftpFailed(host: target.host, operation: operation, path: path, reason: sftpReason(h, status), status: status)
    }

    func sftpStatus(_ h: sftp_session) -> SFTPStatus {
        if let s = session, ssh_is_connected(s) == 0 { return .disconnected }
        switch Int32(sftp_get_error(h)) {
        case SSH_FX_NO_SUCH_FILE: return .noSuchFile
        case SSH_FX_PERMISSION_DENIED: return .permissionDenied
        case SSH_FX_FAILURE: return .failure
        case SSH_FX_NO_SUCH_PATH: return .noSuchPath
        case SSH_FX_FILE_ALREADY_EXISTS: return .fileExists
        case SSH_FX_WRITE_PROTECT: return .writeProtect
        case SSH_FX_NO_MEDIA: return .noMedia
        default: return .other
        }
    }

    func sftpReason(_ h: sftp_session, _ status: SFTPStatus) -> String {
        switch status {
        case .disconnected: return "the connection was closed (disconnected)"
        case .noSuchFile: return "no such file"
        case .permissionDenied: return "permission denied"
        case .failure: return "failure (disk full or not a directory?)"
        case .noSuchPath: return "no such directory"
        case .fileExists: return "file already exists"
        case .writeProtect: return "read-only file system"
        case .noMedia: return "no media"
        case .other: return session.map(LibSSH.lastError) ?? "unknown error"
        }
    }

    func uploadBlocking(
        to remotePath: String, mode: UInt32,
        body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let h = try sftpSession()
        let dir = PathText.parent(remotePath)
        let base = PathText.lastComponent(remotePath)
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(base).swock-\(UInt32.random(in: 0...UInt32.max))"
        guard let file = sftp_open(h, tmp, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode)) else {
            throw sftpError(h, operation: "create", path: tmp)
        }
        var closed = false
        do {
            try body { chunk in
                var off = 0
                while off < chunk.count {
                    let n = sftp_write(file, chunk.baseAddress! + off, min(chunk.count - off, Self.sftpChunk))
                    if n < 0 { throw sftpError(h, operation: "write", path: tmp) }
                    off += n
                }
            }
            closed = true
            guard sftp_close(file) == SSH_OK else {
                throw sftpError(h, operation: "close", path: tmp)
            }
            // The umask may have narrowed the mode at creation; set it exactly.
            _ = sftp_chmod(h, tmp, mode_t(mode))
            // SFTP v3 rename refuses to replace; mv -f does it atomically (same directory).
            let mv = try execBlocking(
                "mv -f \(ShellQuote.quote(tmp)) \(ShellQuote.quote(remotePath))", stdin: .none,
                timeout: options.ioTimeout, collect: true, onStdout: nil, onStderr: nil)
            guard mv.succeeded else {
                throw SSHError.sftpFailed(
                    host: target.host, operation: "replace", path: remotePath,
                    reason: mv.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        } catch {
            if !closed { sftp_close(file) }
            _ = sftp_unlink(h, tmp)
            throw error
        }
    }

    func downloadBlocking(_ remotePath: String, sink: (Data) throws -> Void) throws {
        let h = try sftpSession()
        guard let file = sftp_open(h, remotePath, O_RDONLY, 0) else {
            throw sftpError(h, operation: "open", path: remotePath)
        }
        defer { sftp_close(file) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.sftpChunk, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = sftp_read(file, buffer, Self.sftpChunk)
            if n == 0 { break }
            if n < 0 { throw sftpError(h, operation: "read", path: remotePath) }
            try sink(Data(bytes: buffer, count: n))
        }
    }
}
