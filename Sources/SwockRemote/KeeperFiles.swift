import Foundation
import SSHKit
import SwockSupport

// Files through the connection keeper: a `file` request asks the session leased by `open` for
// what SFTP and root installs do (stat, listing, directories, symlinks, whole-file transfers,
// how root runs, root-owned installs). The keeper runs SSHSession's own calls on its held
// session, so a transfer lands exactly as a direct one would (atomically, with its mode) and
// fails with the same `SSHError` (its SFTP status included).
//
// File contents travel only as frames on the unix socket, never on a command line: an upload's
// bytes follow its request as data frames (`stdin` kind), an empty one ending them, and the keeper
// replies once (early, when the upload failed before the end: the client then stops sending and
// ends with the empty frame; the keeper reads up to it). A download comes as `stdout` frames, then
// the reply. A client that stops an upload (Ctrl-C) sends a `request` frame in place of the next
// data frame: the keeper abandons the upload, its temporary file removed, and replies
// `unavailable` before it ends the connection, so the host is clean once the client has the
// reply. A root install's files follow the request one after the other, each ended by an empty
// frame; `then`'s output comes as `stdout`/`stderr` frames before the reply.
//
// Versions: a keeper lists the ops it serves in its `open` reply (`ops`); a client sends `file`
// requests only to a keeper that lists `file` and does the rest directly. When the keeper goes
// away, what changes nothing on the host (reads, whole-file transfers, which replace atomically)
// is done again directly; what would change the host twice (mkdir, symlink, remove, a root
// install) is reported as `KeeperError.lostDuringCommand` once its request was sent.

/// What a `file` request asks of the leased session.
public struct KeeperFileOp: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case stat, lstat, list, mkdir, chmod, readlink, symlink, remove, upload, download, rootAccess, installAsRoot
    }
    public var action: Action
    public var path: String?
    public var mode: UInt32?
    /// `symlink`: what the link points to.
    public var target: String?
    /// `installAsRoot`: the files, in the order their bytes follow.
    public var files: [KeeperRootFile]?
    public var before: String?
    public var then: String?
    public var timeout: Double?

    public init(
        _ action: Action, path: String? = nil, mode: UInt32? = nil, target: String? = nil, files: [KeeperRootFile]? = nil,
        before: String? = nil, then: String? = nil, timeout: Double? = nil
    ) {
        self.action = action
        self.path = path
        self.mode = mode
        self.target = target
        self.files = files
        self.before = before
        self.then = then
        self.timeout = timeout
    }

    /// Done a second time it changes nothing more: after a lost keeper it is done again directly.
    public var repeatable: Bool {
        switch action {
        case .stat, .lstat, .list, .readlink, .chmod, .upload, .download, .rootAccess: true
        case .mkdir, .symlink, .remove, .installAsRoot: false
        }
    }
}

/// A root install's file, without its bytes (they follow as frames).
public struct KeeperRootFile: Codable, Sendable, Equatable {
    public var path: String
    public var mode: UInt32
    public var owner: String
}

public struct KeeperFileEntry: Codable, Sendable, Equatable {
    public var name: String
    public var info: RemoteFileInfo
}

/// What a `file` request found; its SSH error is the reply's `error`.
public struct KeeperFileResult: Codable, Sendable {
    public var info: RemoteFileInfo?
    public var entries: [KeeperFileEntry]?
    public var link: String?
    public var rootAccess: SSHSession.RootAccess?
    /// `installAsRoot` ran `then`: its status is the reply's `exitStatus`/`signal`.
    public var ran: Bool?
    public init() {}
}

// MARK: - The keeper's side

/// The data frames that follow a request, read one at a time (on the session thread during an
/// upload, then on the client's thread to drain the rest).
// `@unchecked Sendable`: read by one thread at a time, handed from the session thread to the
// client's thread only after the upload call returned.
final class KeeperFrameStream: @unchecked Sendable {
    let socket: KeeperSocket
    /// The empty frame was read.
    private(set) var ended = false
    /// The client went away or broke the protocol: nothing more is read.
    private(set) var broken = false
    /// The client stopped the transfer (a `request` frame in place of data).
    private(set) var stopped = false

    init(_ socket: KeeperSocket) { self.socket = socket }

    /// The next chunk; nil at the empty frame that ends them.
    func next() throws -> Data? {
        if ended { return nil }
        if broken { throw KeeperError.protocolViolation("data stream broken") }
        let frame: (KeeperFrameKind, Data)?
        do { frame = try socket.receive() } catch {
            broken = true
            throw error
        }
        if frame?.0 == .request {
            broken = true
            stopped = true
            throw SSHTransferStopped()
        }
        guard let (kind, data) = frame, kind == .stdin else {
            broken = true
            throw KeeperError.protocolViolation(frame == nil ? "the client went away during a transfer" : "frame \(frame!.0) in data")
        }
        if data.isEmpty { ended = true; return nil }
        return data
    }

    /// Reads (and drops) what is left up to the empty frame; false when the client is gone.
    func drain() -> Bool {
        while !ended && !broken { _ = try? next() }
        return !broken
    }

    /// A whole file's bytes (up to its empty frame); the next file's frames follow.
    func readAll() throws -> Data {
        var out = Data()
        while let d = try next() { out.append(d) }
        ended = false
        return out
    }
}

extension KeeperServer {
    /// Serves one `file` request on the leased session and replies. `end`: this client connection
    /// is over (the client went away); `lost`: the session is gone too.
    func serveFile(_ op: KeeperFileOp, on lease: Lease, socket: KeeperSocket) -> (end: Bool, lost: Bool) {
        let session = lease.session
        var reply = KeeperReply()
        var result = KeeperFileResult()
        let stream = KeeperFrameStream(socket)
        let path = op.path ?? ""
        do {
            switch op.action {
            case .stat: result.info = try blocking { try await session.stat(path) }
            case .lstat: result.info = try blocking { try await session.lstat(path) }
            case .list:
                result.entries = try blocking { try await session.listDirectory(path) }.map {
                    KeeperFileEntry(name: $0.name, info: $0.info)
                }
            case .mkdir: try blocking { try await session.makeDirectory(path, mode: op.mode ?? 0o755) }
            case .chmod: try blocking { try await session.setMode(path, mode: op.mode ?? 0o644) }
            case .readlink: result.link = try blocking { try await session.readLink(path) }
            case .symlink: try blocking { try await session.createSymlink(at: path, pointingTo: op.target ?? "") }
            case .remove: try blocking { try await session.removeFile(path) }
            case .rootAccess: result.rootAccess = try blocking { try await session.rootAccess() }
            case .upload:
                let mode = op.mode ?? 0o644
                try blocking { try await session.upload(to: path, mode: mode, from: { try stream.next() }) }
            case .download:
                // A send that fails (the client went away) ends the download on the host.
                try blocking { try await session.download(path, into: { try socket.send(.stdout, $0) }) }
            case .installAsRoot:
                var read: [RootFile] = []
                for f in op.files ?? [] { read.append(RootFile(f.path, try stream.readAll(), mode: f.mode, owner: f.owner)) }
                let files = read
                let timeout = op.timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
                let then = try blocking {
                    try await session.installAsRoot(files, before: op.before, then: op.then, timeout: timeout)
                }
                if let then {
                    if !then.stdout.isEmpty { try socket.send(.stdout, then.stdout) }
                    if !then.stderr.isEmpty { try socket.send(.stderr, then.stderr) }
                    reply.exitStatus = then.exitStatus
                    reply.signal = then.signal
                    result.ran = true
                }
            }
            reply.file = result
        } catch let e as SSHError {
            reply.error = e
        } catch {
            // Stopped by the client: told once the upload is undone. Else the socket failed (the
            // client went away, or sent what is not data).
            if stream.stopped { try? socket.send(.reply, json: KeeperReply.unavailable("stopped")) }
            return (true, false)
        }
        let lost = reply.error.map(Self.losesSession) ?? false
        guard (try? socket.send(.reply, json: reply)) != nil else { return (true, lost) }
        // An upload that failed before its end: its data frames run to the empty one. (A root
        // install has read all its files before anything ran.)
        if op.action == .upload, !stream.drain() { return (true, lost) }
        return (lost, lost)
    }

    /// An error after which the session is not given to another command.
    static func losesSession(_ e: SSHError) -> Bool {
        switch e {
        case .connectionLost, .disconnected, .commandTimedOut: return true
        case .sftpFailed(_, _, _, _, let status): return status == .disconnected
        case .viaJumpHost(_, let inner): return losesSession(inner)
        default: return false
        }
    }
}

// MARK: - The command's side

/// The keeper connection broke during a `file` request. `sent`: the request may have reached it
/// (false: it certainly did nothing).
struct KeeperLost: Error {
    let sent: Bool
    /// The keeper's pid when it was found stopped (SIGSTOP) rather than gone.
    var stopped: Int32? = nil
}

/// The client gave up the keeper connection in the middle of a transfer (a stop asked for, a local
/// file that failed): the connection is closed (the keeper abandons the transfer) and `error` thrown.
struct KeeperAbandon: Error {
    let error: any Error
}

extension KeeperHost: RemoteTree {
    /// Runs `body` on the keeper connection, taken for the time. nil: do it directly (no keeper
    /// connection, a keeper without file ops, or one lost in a way that allows it).
    func throughKeeper<T: Sendable>(_ op: KeeperFileOp, _ body: @escaping @Sendable (KeeperSocket) throws -> T) async throws -> T? {
        guard servesFiles else { return nil }
        let taken: KeeperSocket? = held.withLock { h in
            defer { h.socket = nil }
            return h.socket
        }
        guard let s = taken else { return nil }
        do {
            let r = try await OffPool.run("keeper-file") { try body(s) }
            held.withLock { $0.socket = s }
            return r
        } catch let lost as KeeperLost {
            s.close()
            client.markDead(lost.stopped.map { "the keeper (pid \($0)) is stopped" } ?? "the keeper went away during a file request")
            if !lost.sent || op.repeatable { return nil }
            if let pid = lost.stopped { throw KeeperError.keeperStopped(pid: pid, host: target.host) }
            throw KeeperError.lostDuringCommand(host: target.host)
        } catch let a as KeeperAbandon {
            s.close()
            throw a.error
        } catch {
            // The host's answer (an SSHError): the connection goes on.
            held.withLock { $0.socket = s }
            throw error
        }
    }

    static func send(_ s: KeeperSocket, _ op: KeeperFileOp) throws {
        do { try s.send(.request, json: KeeperRequest(op: .file, file: op)) } catch { throw KeeperLost(sent: false) }
    }

    /// Frames up to the reply: data frames to `onData`; the reply, or its SSH error thrown.
    static func reply(_ s: KeeperSocket, onData: ((KeeperFrameKind, Data) throws -> Void)? = nil) throws -> KeeperReply {
        while true {
            let frame: (KeeperFrameKind, Data)?
            do {
                frame = try s.receive()
            } catch KeeperError.keeperStopped(let pid, _) {
                throw KeeperLost(sent: true, stopped: pid)
            } catch {
                throw KeeperLost(sent: true)
            }
            guard let (kind, data) = frame else { throw KeeperLost(sent: true) }
            switch kind {
            case .reply:
                guard let r = try? JSONDecoder().decode(KeeperReply.self, from: data) else { throw KeeperLost(sent: true) }
                if let e = r.error { throw e }
                // Not served (it never ran): done directly.
                if r.unavailable != nil { throw KeeperLost(sent: false) }
                return r
            case .stdout, .stderr:
                guard let onData else { throw KeeperLost(sent: true) }
                try onData(kind, data)
            case .request, .stdin:
                throw KeeperLost(sent: true)
            }
        }
    }

    /// One request without data frames; its result.
    func ask(_ op: KeeperFileOp) async throws -> KeeperFileResult? {
        try await throughKeeper(op) { s in
            try Self.send(s, op)
            return try Self.reply(s).file ?? KeeperFileResult()
        }
    }

    /// Whether the keeper has sent something (an early reply) that waits to be read.
    static func readable(_ s: KeeperSocket) -> Bool {
        var p = pollfd(fd: s.fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Sends an upload's request and its bytes (`next` until nil), then reads the reply.
    static func upload(
        _ s: KeeperSocket, _ op: KeeperFileOp, progress: TransferProgress?, stop: TransferStop?, next: () throws -> Data?
    ) throws {
        try send(s, op)
        var sent: UInt64 = 0
        while !readable(s) {
            if stop?() == true {
                // Told to the keeper, which answers once the host holds no temporary file.
                if (try? s.send(.request, Data())) != nil { _ = try? s.receive() }
                throw KeeperAbandon(error: SSHTransferStopped())
            }
            let chunk: Data?
            do { chunk = try next() } catch { throw KeeperAbandon(error: error) }
            guard let chunk else { break }
            do { try s.send(.stdin, chunk) } catch { throw KeeperLost(sent: true) }
            sent += UInt64(chunk.count)
            progress?(sent)
        }
        do { try s.send(.stdin, Data()) } catch { throw KeeperLost(sent: true) }
        _ = try reply(s)
    }

    static let chunk = 32 * 1024

    public func stat(_ path: String) async throws -> RemoteFileInfo? {
        if let r = try await ask(KeeperFileOp(.stat, path: path)) { return r.info }
        return try await directHost().stat(path)
    }

    public func lstat(_ path: String) async throws -> RemoteFileInfo? {
        if let r = try await ask(KeeperFileOp(.lstat, path: path)) { return r.info }
        return try await directHost().lstat(path)
    }

    public func listDirectory(_ path: String) async throws -> [(name: String, info: RemoteFileInfo)] {
        if let r = try await ask(KeeperFileOp(.list, path: path)) { return (r.entries ?? []).map { ($0.name, $0.info) } }
        return try await directHost().listDirectory(path)
    }

    public func makeDirectory(_ path: String, mode: UInt32) async throws {
        if try await ask(KeeperFileOp(.mkdir, path: path, mode: mode)) != nil { return }
        try await directHost().makeDirectory(path, mode: mode)
    }

    public func setMode(_ path: String, mode: UInt32) async throws {
        if try await ask(KeeperFileOp(.chmod, path: path, mode: mode)) != nil { return }
        try await directHost().setMode(path, mode: mode)
    }

    public func readLink(_ path: String) async throws -> String {
        if let r = try await ask(KeeperFileOp(.readlink, path: path)) { return r.link ?? "" }
        return try await directHost().readLink(path)
    }

    public func createSymlink(at path: String, pointingTo target: String) async throws {
        if try await ask(KeeperFileOp(.symlink, path: path, target: target)) != nil { return }
        try await directHost().createSymlink(at: path, pointingTo: target)
    }

    public func removeFile(_ path: String) async throws {
        if try await ask(KeeperFileOp(.remove, path: path)) != nil { return }
        try await directHost().removeFile(path)
    }

    public func rootAccess() async throws -> SSHSession.RootAccess {
        if let r = try await ask(KeeperFileOp(.rootAccess)), let access = r.rootAccess { return access }
        return try await directHost().rootAccess()
    }

    public func installFilesAsRoot(_ files: [RootFile], before: String?, then: String?, timeout: Duration?) async throws -> ExecResult? {
        let op = KeeperFileOp(
            .installAsRoot, files: files.map { KeeperRootFile(path: $0.path, mode: $0.mode, owner: $0.owner) }, before: before,
            then: then, timeout: timeout?.timeInterval)
        let started = ContinuousClock.now
        let served: ExecResult?? = try await throughKeeper(op) { s in
            try Self.send(s, op)
            for f in files {
                var off = 0
                while off < f.data.count {
                    let end = min(f.data.count, off + Self.chunk)
                    do { try s.send(.stdin, f.data.subdata(in: f.data.startIndex + off..<f.data.startIndex + end)) } catch {
                        throw KeeperLost(sent: true)
                    }
                    off = end
                }
                do { try s.send(.stdin, Data()) } catch { throw KeeperLost(sent: true) }
            }
            var out = Data(), err = Data()
            let r = try Self.reply(s) { kind, data in kind == .stdout ? out.append(data) : err.append(data) }
            guard r.file?.ran == true else { return nil }
            return ExecResult(
                exitStatus: r.exitStatus, signal: r.signal, stdout: out, stderr: err, duration: ContinuousClock.now - started)
        }
        if let served { return served }
        return try await directHost().installAsRoot(files, before: before, then: then, timeout: timeout)
    }

    public func uploadData(_ data: Data, to remotePath: String, mode: UInt32) async throws {
        let op = KeeperFileOp(.upload, path: remotePath, mode: mode)
        let done: Void? = try await throughKeeper(op) { s in
            var off = 0
            try Self.upload(s, op, progress: nil, stop: nil) {
                guard off < data.count else { return nil }
                let end = min(data.count, off + Self.chunk)
                defer { off = end }
                return data.subdata(in: data.startIndex + off..<data.startIndex + end)
            }
        }
        if done != nil { return }
        try await directHost().upload(data, to: remotePath, mode: mode)
    }

    public func uploadFile(atPath localPath: String, to remotePath: String, mode: UInt32) async throws {
        try await uploadFile(localPath, to: remotePath, mode: mode, progress: nil, stop: nil)
    }

    public func uploadFile(
        _ localPath: String, to remotePath: String, mode: UInt32, progress: TransferProgress?, stop: TransferStop?
    ) async throws {
        let op = KeeperFileOp(.upload, path: remotePath, mode: mode)
        let done: Void? = try await throughKeeper(op) { s in
            // Opened before anything is sent: a local file that cannot be read is not the keeper's business.
            let fd = open(localPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SSHError.localErrno(localPath) }
            defer { Glibc.close(fd) }
            var buffer = [UInt8](repeating: 0, count: Self.chunk)
            try Self.upload(s, op, progress: progress, stop: stop) {
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SSHError.localErrno(localPath)
                    }
                    return n == 0 ? nil : Data(buffer[0..<n])
                }
            }
        }
        if done != nil { return }
        try await directHost().uploadFile(localPath, to: remotePath, mode: mode, progress: progress, stop: stop)
    }

    public func downloadData(_ remotePath: String) async throws -> Data {
        let op = KeeperFileOp(.download, path: remotePath)
        let served: Data? = try await throughKeeper(op) { s in
            try Self.send(s, op)
            var out = Data()
            _ = try Self.reply(s) { kind, data in
                guard kind == .stdout else { throw KeeperLost(sent: true) }
                out.append(data)
            }
            return out
        }
        if let served { return served }
        return try await directHost().download(remotePath)
    }

    /// As `SSHSession.downloadFile`: a hidden temporary file in the same directory, given exactly
    /// `mode`, renamed over the target once the whole file is in; removed on any failure (then,
    /// when the keeper went away, the file is fetched again directly).
    public func downloadFile(
        _ remotePath: String, to localPath: String, mode: UInt32, progress: TransferProgress?, stop: TransferStop?
    ) async throws {
        let op = KeeperFileOp(.download, path: remotePath)
        let done: Void? = try await throughKeeper(op) { s in
            try LocalPartialFile.receive(beside: localPath, mode: mode) { file in
                try Self.send(s, op)
                var received: UInt64 = 0
                _ = try Self.reply(s) { kind, data in
                    guard kind == .stdout else { throw KeeperLost(sent: true) }
                    if stop?() == true { throw KeeperAbandon(error: SSHTransferStopped()) }
                    do { try file.write(data) } catch { throw KeeperAbandon(error: error) }
                    received += UInt64(data.count)
                    progress?(received)
                }
            }
        }
        if done != nil { return }
        try await directHost().downloadFile(remotePath, to: localPath, mode: mode, progress: progress, stop: stop)
    }
}
