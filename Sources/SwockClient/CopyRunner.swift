import Foundation
import SSHKit
import SwockRemote
import SwockStore
import SwockSupport

/// Progress of one file at a time; called from session threads.
public protocol CopyProgress: Sendable {
    func started(_ name: String, bytes: UInt64)
    func advanced(to bytes: UInt64)
    func ended(success: Bool)
}

/// Runs `scp`: looks every path up first (so a missing source or a bad destination fails before
/// anything is written), then copies item by item. Each file lands atomically (temp + rename on
/// either side); a failure stops the copy and leaves no partial file behind.
///
/// Trees (-r): directories are created 0700 and get their mode once their contents are in;
/// files keep their permission bits (0o777; setuid/setgid/sticky are dropped). A symlink whose
/// target is relative and stays inside the copied tree is recreated as a symlink; any other
/// symlink is followed when it leads to a regular file (its contents are copied, like scp -r)
/// and skipped with a warning otherwise. Fifos, sockets and devices are skipped with a warning.
///
/// A listing is the other side's word: every name is checked before anything of its directory
/// is written (`CopyPlan.checkedEntries`), a link is recreated only when it resolves inside the
/// tree (`CopyPlan.linkStaysInside`), and nothing is ever written through a symlink the copy
/// made (checked with lstat; locally, modes are set through O_NOFOLLOW descriptors).
///
/// Machine to machine goes through a private (0700) local directory that is removed afterwards.
///
/// With `keeper`, every machine is reached through the connection keeper's held session when the
/// keeper serves it (the same SFTP calls, carried over its socket), else directly.
public final class CopyRunner {
    let store: Store
    let machineSSH: MachineSSH
    let keeper: KeeperClient?
    let progress: CopyProgress?
    let warn: @Sendable (String) -> Void
    let interrupted: TransferStop
    private var sessions: [String: any RemoteTree] = [:]
    private var staging: String?
    /// What the copy made under the tree being copied now.
    private var tree = CopyPlan.CopiedTree()
    /// Every symlink the copy made, on either side.
    private var ownLinks = Set<CopyLocation>()

    /// `interrupted` is asked between files and chunks; when it says true the copy stops, removes
    /// its temporary files and throws `CopyError.interrupted`.
    public init(
        store: Store, ssh: MachineSSH, keeper: KeeperClient? = nil, progress: CopyProgress?,
        warn: @escaping @Sendable (String) -> Void, interrupted: @escaping TransferStop = { false }
    ) {
        self.store = store
        self.machineSSH = ssh
        self.keeper = keeper
        self.progress = progress
        self.warn = warn
        self.interrupted = interrupted
    }

    public func run(sources: [String], destination: String, recursive: Bool) async throws {
        do {
            try await copy(sources.map(CopyLocation.parse), to: CopyLocation.parse(destination), recursive: recursive)
        } catch {
            await cleanup()
            throw error
        }
        await cleanup()
    }

    private func copy(_ sources: [CopyLocation], to destination: CopyLocation, recursive: Bool) async throws {
        if destination.machine == nil, let local = sources.first(where: { $0.machine == nil }) {
            throw CopyError.bothLocal(local.description, destination.description)
        }
        var machines: [String] = []
        for m in (sources + [destination]).compactMap(\.machine) where !machines.contains(m) { machines.append(m) }
        let configs = try machines.map { try store.load($0) }
        for c in configs { sessions[c.name] = try await machineSSH.fileHost(c, keeper: keeper) }

        var found: [(CopyLocation, CopyFileInfo?)] = []
        for s in sources { found.append((s, try await info(s, follow: true))) }
        let destInfo = try await info(destination, follow: true)
        let parentInfo = destInfo == nil ? try await info(destination.parent, follow: true) : nil
        let items = try CopyPlan.make(
            sources: found, destination: destination, destinationInfo: destInfo,
            parentInfo: parentInfo, recursive: recursive)
        for item in items {
            let label = item.source.baseName
            if item.info.kind == .directory {
                tree = CopyPlan.CopiedTree()
                try await copyTree(item.source, item.target, item.info, at: [], label: label)
            } else {
                try await copyFile(item.source, item.target, item.info, label: label)
            }
        }
    }

    private func copyTree(_ src: CopyLocation, _ dst: CopyLocation, _ srcInfo: CopyFileInfo, at path: [String], label: String) async throws
    {
        var created = false
        try await refuseOwnLink(dst)
        if let existing = try await info(dst, follow: true) {
            guard existing.kind == .directory else { throw CopyError.overwriteFileWithDirectory(dst.description) }
        } else {
            try await blame(dst) { try await self.makeDirectory(dst, mode: 0o700) }
            created = true
        }
        tree.directories.insert(path.joined(separator: "/"))
        for (name, entry) in try CopyPlan.checkedEntries(try await list(src), in: src.description) {
            let s = src.appending(name), d = dst.appending(name), l = label + "/" + name
            switch entry.kind {
            case .file: try await copyFile(s, d, entry, label: l)
            case .directory: try await copyTree(s, d, entry, at: path + [name], label: l)
            case .symlink: try await copyLink(s, d, at: path + [name], label: l)
            case .other: warn("skipping \"\(s)\": not a regular file, directory or symlink")
            }
        }
        if created { try await blame(dst) { try await self.setMode(dst, srcInfo.mode & 0o777) } }
    }

    private func copyLink(_ src: CopyLocation, _ dst: CopyLocation, at path: [String], label: String) async throws {
        let target = try await blame(src) { try await self.readLink(src) }
        if CopyPlan.linkStaysInside(target, at: path, tree: tree) {
            try await refuseOwnLink(dst)
            if let existing = try await info(dst, follow: false) {
                if existing.kind == .directory { throw CopyError.overwriteDirectoryWithFile(dst.description) }
                try await blame(dst) { try await self.removeFile(dst) }
            }
            try await blame(dst) { try await self.makeSymlink(dst, pointingTo: target) }
            ownLinks.insert(dst)
            tree.links[path.joined(separator: "/")] = target
        } else if let resolved = try? await info(src, follow: true), resolved.kind == .file {
            try await copyFile(src, dst, resolved, label: label)
        } else {
            warn("skipping symlink \"\(src)\" -> \(target): it leads out of the copied tree, and not to a regular file")
        }
    }

    private func copyFile(_ src: CopyLocation, _ dst: CopyLocation, _ srcInfo: CopyFileInfo, label: String) async throws {
        try await refuseOwnLink(dst)
        if let existing = try await info(dst, follow: false), existing.kind == .directory {
            throw CopyError.overwriteDirectoryWithFile(dst.description)
        }
        if interrupted() { throw CopyError.interrupted }
        let mode = srcInfo.mode & 0o777, size = srcInfo.size
        let p = progress, stop = interrupted
        p?.started(label, bytes: size)
        do {
            switch (src, dst) {
            case (.local(let s), .remote(let m, let d)):
                try await blame(sftp: dst, local: src) {
                    try await self.sessions[m]!.uploadFile(
                        s, to: Self.withSlash(d), mode: mode, progress: { p?.advanced(to: $0) }, stop: stop)
                }
            case (.remote(let m, let s), .local(let d)):
                try await blame(sftp: src, local: dst) {
                    try await self.sessions[m]!.downloadFile(s, to: d, mode: mode, progress: { p?.advanced(to: $0) }, stop: stop)
                }
            case (.remote(let ms, let s), .remote(let md, let d)):
                let tmp = try stagingDirectory() + "/file"
                defer { unlink(tmp) }
                try await blame(sftp: src, local: .local(tmp)) {
                    try await self.sessions[ms]!.downloadFile(s, to: tmp, mode: 0o600, progress: { p?.advanced(to: $0 / 2) }, stop: stop)
                }
                try await blame(sftp: dst, local: .local(tmp)) {
                    try await self.sessions[md]!.uploadFile(
                        tmp, to: Self.withSlash(d), mode: mode, progress: { p?.advanced(to: (size + $0) / 2) }, stop: stop)
                }
            case (.local, .local):
                throw CopyError.bothLocal(src.description, dst.description)
            }
        } catch {
            p?.ended(success: false)
            throw error
        }
        p?.ended(success: true)
    }

    /// "x" -> "./x": SSHKit's upload splits the path with NSString, which crashes on a
    /// one-character name without a slash (swift-corelibs-foundation 6.3).
    static func withSlash(_ path: String) -> String {
        path.contains("/") ? path : "./" + path
    }

    /// Throws when `loc` is a symlink this copy made (lstat, so the link itself is looked at).
    private func refuseOwnLink(_ loc: CopyLocation) async throws {
        guard ownLinks.contains(loc), try await info(loc, follow: false)?.kind == .symlink else { return }
        throw CopyError.throughOwnLink(loc.description)
    }

    // MARK: - Either side

    private func info(_ loc: CopyLocation, follow: Bool) async throws -> CopyFileInfo? {
        try await blame(loc) {
            switch loc {
            case .local(let p): return try LocalFS.info(p, follow: follow)
            case .remote(let m, let p):
                let s = self.sessions[m]!
                return try await (follow ? s.stat(p) : s.lstat(p)).map(CopyFileInfo.init)
            }
        }
    }

    private func list(_ loc: CopyLocation) async throws -> [(String, CopyFileInfo)] {
        try await blame(loc) {
            switch loc {
            case .local(let p): return try LocalFS.list(p)
            case .remote(let m, let p): return try await self.sessions[m]!.listDirectory(p).map { ($0.name, CopyFileInfo($0.info)) }
            }
        }
    }

    private func makeDirectory(_ loc: CopyLocation, mode: UInt32) async throws {
        switch loc {
        case .local(let p): try LocalFS.check(mkdir(p, mode_t(mode)), p)
        case .remote(let m, let p): try await sessions[m]!.makeDirectory(p, mode: mode)
        }
    }

    private func setMode(_ loc: CopyLocation, _ mode: UInt32) async throws {
        switch loc {
        case .local(let p): try LocalFS.setDirectoryMode(p, mode)
        case .remote(let m, let p): try await sessions[m]!.setMode(p, mode: mode)
        }
    }

    private func readLink(_ loc: CopyLocation) async throws -> String {
        switch loc {
        case .local(let p): return try LocalFS.readLink(p)
        case .remote(let m, let p): return try await sessions[m]!.readLink(p)
        }
    }

    private func makeSymlink(_ loc: CopyLocation, pointingTo target: String) async throws {
        switch loc {
        case .local(let p): try LocalFS.check(symlink(target, p), p)
        case .remote(let m, let p): try await sessions[m]!.createSymlink(at: p, pointingTo: target)
        }
    }

    private func removeFile(_ loc: CopyLocation) async throws {
        switch loc {
        case .local(let p): try LocalFS.check(unlink(p), p)
        case .remote(let m, let p): try await sessions[m]!.removeFile(p)
        }
    }

    // MARK: - Errors and cleanup

    /// Runs `body`, turning SFTP and local I/O errors into one-line CopyErrors about `sftp`
    /// (remote failures) or `local` (local failures).
    private func blame<T>(sftp: CopyLocation, local: CopyLocation, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            // A signal may also break a blocking call: then the interruption is the story.
            if error is SSHTransferStopped || interrupted() { throw CopyError.interrupted }
            switch error {
            case SSHError.sftpFailed(_, _, _, let reason, let status): throw Self.copyError(sftp.description, sftp: status, reason)
            case SSHError.localIO(_, let reason, let code): throw Self.copyError(local.description, errno: code, reason)
            case let e as LocalFileError: throw Self.copyError(local.description, errno: e.errno, e.reason)
            default: throw error
            }
        }
    }

    private func blame<T>(_ loc: CopyLocation, _ body: () async throws -> T) async throws -> T {
        try await blame(sftp: loc, local: loc, body)
    }

    /// A local failure, by its error number.
    static func copyError(_ path: String, errno code: Int32?, _ reason: String) -> CopyError {
        switch code {
        case ENOENT: return .noSuchFile(path)
        case EACCES, EPERM: return .permissionDenied(path)
        case ENOTDIR: return .notADirectory(path)
        default: return .failed(path, reason: reason.lowercased())
        }
    }

    /// A remote failure, by the SFTP server's status.
    static func copyError(_ path: String, sftp status: SFTPStatus, _ reason: String) -> CopyError {
        switch status {
        case .noSuchFile, .noSuchPath: return .noSuchFile(path)
        case .permissionDenied: return .permissionDenied(path)
        default: return .failed(path, reason: reason.lowercased())
        }
    }

    private func stagingDirectory() throws -> String {
        if let s = staging { return s }
        var template = Array((NSTemporaryDirectory() + "/swock-scp.XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw CopyError.failed(NSTemporaryDirectory(), reason: LocalFileError.errnoText()) }
        staging = String(cString: p)
        return staging!
    }

    private func cleanup() async {
        for s in sessions.values { await s.close() }
        sessions = [:]
        if let s = staging { try? FileManager.default.removeItem(atPath: s) }
        staging = nil
    }
}

extension CopyFileInfo {
    init(_ r: RemoteFileInfo) {
        let kind: Kind
        switch r.kind {
        case .file: kind = .file
        case .directory: kind = .directory
        case .symlink: kind = .symlink
        case .other: kind = .other
        }
        self.init(kind, mode: r.mode, size: r.size)
    }
}

/// The local side: plain system calls, errors as `LocalFileError` (mapped by `blame`).
enum LocalFS {
    static func check(_ rc: Int32, _ path: String) throws {
        if rc != 0 { throw LocalFileError.fromErrno(path) }
    }

    static func info(_ path: String, follow: Bool) throws -> CopyFileInfo? {
        var st = stat()
        if (follow ? stat(path, &st) : lstat(path, &st)) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw LocalFileError.fromErrno(path)
        }
        let kind: CopyFileInfo.Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        return CopyFileInfo(kind, mode: UInt32(st.st_mode & 0o7777), size: UInt64(st.st_size))
    }

    static func list(_ path: String) throws -> [(String, CopyFileInfo)] {
        guard let dir = opendir(path) else { throw LocalFileError.fromErrno(path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: &ent.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return try names.sorted().compactMap { n in
            let child = path.hasSuffix("/") ? path + n : path + "/" + n
            return try info(child, follow: false).map { (n, $0) }
        }
    }

    /// chmod that never follows a symlink: through a descriptor opened with O_NOFOLLOW.
    static func setDirectoryMode(_ path: String, _ mode: UInt32) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw LocalFileError.fromErrno(path) }
        defer { close(fd) }
        try check(fchmod(fd, mode_t(mode)), path)
    }

    static func readLink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, buf.count - 1)
        guard n >= 0 else { throw LocalFileError.fromErrno(path) }
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
