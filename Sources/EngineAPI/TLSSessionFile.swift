import Foundation
import Logging
import Synchronization

/// A machine's saved TLS session (the daemon's TLS 1.3 ticket with its resumption secret), so
/// the next connection resumes instead of doing a full handshake: one file per machine, in its
/// directory of the store (`EngineEndpoint.sessionFile`).
///
/// The blob is as secret as the client key next to it (it lets its holder resume as this
/// client): written 0600 under a temporary name and renamed into place, and read only when it is
/// a regular file of this user that nobody else may read or write (not a link); anything else is
/// ignored and replaced by the next full handshake. Its lifetime is bounded from the full
/// handshake that made it: the daemon's hint, at most `maxLifetime`; after that a full handshake
/// verifies the daemon again. What the blob may be offered to is the shim's decision: only with
/// the same CA, client certificate, key and verified name, and only while the daemon
/// certificate it holds still verifies (CTLS `ctls_connect_resuming`).
///
/// File: "swock-tls-session 1\n", the expiry (Unix seconds, decimal) and "\n", then the blob.
struct TLSSessionFile: Sendable {
    let path: String
    var maxLifetime: Int = TLSSessionFile.defaultMaxLifetime

    /// 12 hours: `ls` and the fan-out resume through a working day; Go's own cap is 7 days.
    static let defaultMaxLifetime = 12 * 3600
    static let header = "swock-tls-session 1\n"
    static let maxFileSize = 64 << 10

    /// The saved blob, when the file is ours alone and has not expired at `now`; nil otherwise.
    func load(now: Int = Int(Date().timeIntervalSince1970)) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid(),
            st.st_mode & 0o077 == 0, st.st_size > 0, st.st_size <= Self.maxFileSize
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        guard got == bytes.count else { return nil }
        return Self.parse(bytes, now: now, maxLifetime: maxLifetime)
    }

    /// The blob of a file's bytes when the header is right and `now` is before the expiry, which
    /// itself lies at most `maxLifetime` ahead (a clock set back does not stretch it).
    static func parse(_ bytes: [UInt8], now: Int, maxLifetime: Int) -> [UInt8]? {
        let head = Array(header.utf8)
        guard bytes.count > head.count, Array(bytes[..<head.count]) == head else { return nil }
        let rest = bytes[head.count...]
        guard let nl = rest.firstIndex(of: UInt8(ascii: "\n")), nl > rest.startIndex, nl - rest.startIndex <= 20,
            let expiry = Int(String(decoding: rest[..<nl], as: UTF8.self))
        else { return nil }
        guard now < expiry, expiry - now <= maxLifetime else { return nil }
        let blob = Array(bytes[(nl + 1)...])
        return blob.isEmpty ? nil : blob
    }

    /// Saves `blob` good for `lifetime` seconds from `now` (the daemon's hint; 0 or more than
    /// `maxLifetime`: `maxLifetime`). Best effort: a session that cannot be saved only costs the
    /// next command a full handshake (the machine's directory may be gone: `rm`).
    @discardableResult
    func save(_ blob: [UInt8], lifetime: Int, now: Int = Int(Date().timeIntervalSince1970)) -> Bool {
        let keep = lifetime > 0 ? min(lifetime, maxLifetime) : maxLifetime
        let bytes = Array(Self.header.utf8) + Array("\(now + keep)\n".utf8) + blob
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // The store's temporary-file pattern (`.NAME.tmp-PID-RANDOM`), which its sweep knows.
        let tmp = "\(dir.isEmpty ? "" : dir)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        var ok = fchmod(fd, 0o600) == 0
        var off = 0
        while ok && off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false; break }
            off += n
        }
        close(fd)
        if ok && rename(tmp, path) == 0 { return true }
        unlink(tmp)
        return false
    }

    /// Removes the saved session (nothing saved is fine).
    static func wipe(_ path: String) { unlink(path) }
}

/// The sessions of this process: each machine's file is read once, and a session saved here is
/// offered by later connections of the same process without reading it again. Counts full and
/// resumed handshakes (`--debug` logs each).
final class TLSSessionCache: Sendable {
    static let shared = TLSSessionCache()
    private struct State {
        var blobs: [String: [UInt8]] = [:]
        var loaded: Set<String> = []
        var full = 0
        var resumed = 0
    }
    private let state = Mutex(State())
    static let logger = Logger(label: "swock.engine")

    func session(for file: TLSSessionFile) -> [UInt8]? {
        if let known = state.withLock({ $0.loaded.contains(file.path) ? Optional($0.blobs[file.path]) : nil }) { return known }
        let blob = file.load()
        state.withLock {
            $0.loaded.insert(file.path)
            $0.blobs[file.path] = blob
        }
        return blob
    }

    /// After a connection's response: counts the handshake and, after a full one, saves the
    /// session the daemon gave (a resumed one keeps the saved session and its expiry).
    func finished(_ conn: TLSConnection, endpoint: EngineEndpoint, file: TLSSessionFile?) {
        let wasResumed = conn.resumed
        state.withLock { if wasResumed { $0.resumed += 1 } else { $0.full += 1 } }
        Self.logger.debug("\(wasResumed ? "resumed TLS session" : "full TLS handshake") with \(endpoint.address)")
        guard let file, !wasResumed, let session = conn.exportSession() else { return }
        state.withLock {
            $0.loaded.insert(file.path)
            $0.blobs[file.path] = session.blob
        }
        file.save(session.blob, lifetime: session.lifetime)
    }

    var counts: (full: Int, resumed: Int) { state.withLock { ($0.full, $0.resumed) } }

    /// Forgets what this process holds for `path` (the file is the caller's).
    func forget(_ path: String) {
        state.withLock {
            $0.loaded.remove(path)
            $0.blobs[path] = nil
        }
    }
}

/// Saved TLS sessions, for the layers that own the files (`EngineEndpoint.sessionFile`).
public enum TLSSessions {
    /// Removes a saved session, from disk and from this process (`regenerate-certs`: the next
    /// connection is a full handshake that verifies the new certificates).
    public static func wipe(_ path: String) {
        TLSSessionFile.wipe(path)
        TLSSessionCache.shared.forget(path)
    }

    /// Full and resumed handshakes of this process so far.
    public static var handshakes: (full: Int, resumed: Int) {
        TLSSessionCache.shared.counts
    }
}
