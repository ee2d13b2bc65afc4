import EngineAPI
import Foundation
import SSHKit
import SwockSupport
import Synchronization

// The connection keeper's wire: how a command and the keeper (`swock-machine keeper serve`) talk
// over the keeper's unix socket.
//
// Every message is a frame: one byte of kind, four bytes of big-endian length, the payload.
// A request and a reply are JSON (`KeeperRequest`, `KeeperReply`); output and stdin are raw
// bytes, an empty stdin frame being EOF. One connection carries one machine: `open` leases a
// session of the keeper's pool to it (connecting if none is idle), then any number of `exec`s
// each stream `stdout`/`stderr` frames and end with one reply (exit status or error). An `exec`
// with stdin ends the connection after its reply. `list`, `drop` and `stop` stand alone. `file`
// requests (KeeperFiles.swift) carry SFTP, transfers and root installs on the leased session; the
// `open` reply lists the ops the keeper serves, so a client never sends one it does not know.
// `forward` (KeeperForward.swift) stands alone: after its empty reply the connection carries
// the raw bytes of one TCP connection to a machine's Engine API, from its last jump host.
// `ping` stands alone too (KeeperEngines.swift): the keeper asks the named machines' daemons
// for /_ping over Engine API connections it keeps open, and replies with each one's answer.

/// The kind byte of a frame.
public enum KeeperFrameKind: UInt8, Sendable {
    case request = 0x51  // Q
    case reply = 0x52  // R
    case stdin = 0x49  // I
    case stdout = 0x4F  // O
    case stderr = 0x45  // E
}

public struct KeeperRequest: Codable, Sendable, Equatable {
    public enum Op: String, Codable, Sendable, CaseIterable {
        case open, exec, list, drop, stop
        case file, forward, ping
    }
    public var op: Op
    public var machine: String?
    /// The store the keeper serves (checked: one keeper per store).
    public var store: String?
    /// `open`: the connect budget, seconds.
    public var budget: Double?
    public var command: String?
    public var asRoot: Bool?
    /// `exec`: the command's own deadline; `ping`: the whole answer's, seconds.
    public var timeout: Double?
    /// `exec`: stdin frames follow.
    public var stdin: Bool?
    /// The idle timeout the client asks for, seconds (the latest asked wins).
    public var persist: Double?
    /// `forward`: the machine's Engine API port (the only port the keeper forwards to).
    public var port: Int?
    /// `file`: what to do.
    public var file: KeeperFileOp?
    /// `ping`: the machines whose daemons to ask.
    public var machines: [String]?

    public init(
        op: Op, machine: String? = nil, store: String? = nil, budget: Double? = nil, command: String? = nil,
        asRoot: Bool? = nil, timeout: Double? = nil, stdin: Bool? = nil, persist: Double? = nil, port: Int? = nil,
        file: KeeperFileOp? = nil, machines: [String]? = nil
    ) {
        self.file = file
        self.machines = machines
        self.op = op
        self.machine = machine
        self.store = store
        self.budget = budget
        self.command = command
        self.asRoot = asRoot
        self.timeout = timeout
        self.stdin = stdin
        self.persist = persist
        self.port = port
    }
}

/// One machine the keeper holds connections to.
public struct KeeperHeld: Codable, Sendable, Equatable {
    public var machine: String
    public var target: String
    public var fingerprint: String
    /// Connections held (idle and in use).
    public var connections: Int
    public var inUse: Int
    /// Seconds since a command last ended on this machine.
    public var idleSeconds: Double
}

/// A daemon's answer to `ping`, or why there was none.
public struct KeeperPing: Codable, Sendable, Equatable {
    public var machine: String
    public var ping: Ping?
    public var error: EngineError?
    /// When the daemon could not be reached: whether the machine's SSH port accepted a
    /// connection (a host that is up with its engine stopped); nil when not asked.
    public var sshAnswers: Bool?

    public init(machine: String, ping: Ping? = nil, error: EngineError? = nil, sshAnswers: Bool? = nil) {
        self.machine = machine
        self.ping = ping
        self.error = error
        self.sshAnswers = sshAnswers
    }
}

public struct KeeperJump: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var fingerprint: String
}

public struct KeeperReply: Codable, Sendable {
    /// An SSH failure, final: the client reports it as a direct connection would have.
    public var error: SSHError?
    /// The keeper cannot serve this (no record, wrong store, not its owner): connect directly.
    public var unavailable: String?
    public var host: String?
    public var port: Int?
    public var user: String?
    public var fingerprint: String?
    public var jumps: [KeeperJump]?
    public var exitStatus: Int32?
    public var signal: String?
    public var pid: Int32?
    public var persist: Double?
    public var store: String?
    public var held: [KeeperHeld]?
    /// `open`: the ops this keeper serves (nil from a keeper older than `file`).
    public var ops: [String]?
    /// `file`: what it found.
    public var file: KeeperFileResult?
    /// `ping`: each asked machine's answer (a machine it does not serve is left out).
    public var pings: [KeeperPing]?
    /// `list`: the machines whose Engine API connections it keeps (`ping`).
    public var engines: [String]?

    public init() {}
    public static func failed(_ e: SSHError) -> KeeperReply { var r = KeeperReply(); r.error = e; return r }
    public static func unavailable(_ why: String) -> KeeperReply { var r = KeeperReply(); r.unavailable = why; return r }
    /// The reply to a request that failed with `error`: the host's answer when it is SSH's (the
    /// command reports it), else the keeper's own trouble (the command goes direct).
    public static func failure(_ error: any Error) -> KeeperReply {
        if let e = error as? SSHError { return .failed(e) }
        return .unavailable("\(error)")
    }
}

/// What goes wrong between a command and its keeper. None of these is the host's fault: the
/// command connects directly instead, except `lostDuringCommand` (the command may have run).
public enum KeeperError: Error, Sendable, Equatable, CustomStringConvertible {
    case socket(path: String, reason: String)
    case unsafeDirectory(path: String, reason: String)
    case protocolViolation(String)
    case notServed(String)
    /// The keeper went away while a command ran through it: whether the command ran is unknown.
    case lostDuringCommand(host: String)
    /// The keeper process is stopped (SIGSTOP, Ctrl-Z) and so cannot answer; `host`: the machine
    /// whose command was running through it (whether that command ran is unknown).
    case keeperStopped(pid: Int32, host: String?)
    case badPersist(String)

    public var description: String {
        switch self {
        case .socket(let path, let reason):
            return "keeper: socket \(path): \(reason)"
        case .unsafeDirectory(let path, let reason):
            return "keeper: \(path) \(reason); remove it (it must be a directory of yours, mode 0700) or set $XDG_RUNTIME_DIR"
        case .protocolViolation(let what):
            return "keeper: unexpected answer (\(what))"
        case .notServed(let why):
            return "keeper: \(why)"
        case .lostDuringCommand(let host):
            return
                "keeper: the connection keeper ended while the command ran on \(host); it may or may not have run there: check, then run it again"
        case .keeperStopped(let pid, nil):
            return
                "keeper: the connection keeper (pid \(pid)) is stopped (SIGSTOP or Ctrl-Z): `kill -CONT \(pid)` resumes it, `kill \(pid)` ends it"
        case .keeperStopped(let pid, let host?):
            return
                "keeper: the connection keeper (pid \(pid)) was stopped (SIGSTOP or Ctrl-Z) while the command ran on \(host); it may or may not have run there: check, then run it again (`kill -CONT \(pid)` resumes the keeper, `kill \(pid)` ends it)"
        case .badPersist(let text):
            return "invalid persist time \"\(text)\": give seconds (90), or a number with s, m or h (30s, 10m, 1h); 0 turns the keeper off"
        }
    }
}

/// Where a store's keeper listens: `$XDG_RUNTIME_DIR/swock-machine`, else `/tmp/swock-machine-UID`
/// (as tmux does), a directory of the user's with mode 0700; one socket per store, named by a
/// hash of the store's path, mode 0600. Never a TCP port.
public struct KeeperPlace: Sendable, Equatable {
    public let directory: String
    public let socket: String
    public let lockFile: String

    public init(storeRoot: String, environment: [String: String] = ProcessInfo.processInfo.environment, uid: uid_t = geteuid()) {
        if let run = environment["XDG_RUNTIME_DIR"], run.hasPrefix("/") {
            directory = run + "/swock-machine"
        } else {
            directory = "/tmp/swock-machine-\(uid)"
        }
        let id = FNV1a.hex(storeRoot)
        socket = directory + "/keeper-\(id).sock"
        lockFile = directory + "/keeper-\(id).lock"
    }

    /// Makes the directory (0700) when missing; refuses one that is not a directory of ours
    /// or that others may enter.
    public func ensureDirectory() throws {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw KeeperError.unsafeDirectory(path: directory, reason: "cannot be made: \(LocalFileError.errnoText())")
        }
        try Self.checkPrivate(directory)
    }

    static func checkPrivate(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw KeeperError.unsafeDirectory(path: path, reason: "cannot be read: \(LocalFileError.errnoText())")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw KeeperError.unsafeDirectory(path: path, reason: "is not a directory") }
        guard st.st_uid == geteuid() else {
            throw KeeperError.unsafeDirectory(path: path, reason: "belongs to uid \(st.st_uid), not to you (uid \(geteuid()))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw KeeperError.unsafeDirectory(path: path, reason: "has mode \(String(st.st_mode & 0o777, radix: 8)), open to others")
        }
    }
}

/// The keeper's idle timeout: `--persist`, else $SWOCK_PERSIST, else 60 s; 0 turns it off.
public enum KeeperPersist {
    public static let defaultTime: Duration = .seconds(60)

    /// "90", "90s", "10m", "1h", "0".
    public static func parse(_ text: String) throws -> Duration {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(t)
        var unit = 1.0
        if let last = t.last, "smh".contains(last) {
            number = t.dropLast()
            unit = last == "s" ? 1 : last == "m" ? 60 : 3600
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(number),
            v.isFinite, v >= 0, v * unit <= 7 * 86400
        else {
            throw KeeperError.badPersist(text)
        }
        return .milliseconds(Int64((v * unit * 1000).rounded()))
    }

    public static func resolve(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Duration {
        if let flag { return try parse(flag) }
        if let env = environment["SWOCK_PERSIST"], !env.isEmpty { return try parse(env) }
        return defaultTime
    }
}

/// A framed, blocking unix-socket connection. Writes from several threads are whole frames.
public final class KeeperSocket: Sendable {
    public let fd: Int32
    /// Held while a frame is written, so that frames from several threads never interleave.
    private let writeLock = Mutex(())
    private let closed = Mutex(false)
    static let maxFrame = 16 << 20
    /// A command's side: the keeper's pid (SO_PEERCRED), watched while a receive waits without a
    /// bound, so that a keeper that was stopped (SIGSTOP, Ctrl-Z) does not hold the command
    /// forever. Nil on the keeper's side.
    let watchedPeer: Int32?
    /// A receive timeout is set (it bounds the wait instead).
    private let bounded = Mutex(false)
    /// How often a waiting receive looks at the keeper, and how long it must have been stopped.
    static let peerCheckInterval: Int32 = 1000
    static let stoppedLimit: Duration = .seconds(3)

    init(fd: Int32, watchedPeer: Int32? = nil) {
        self.fd = fd
        self.watchedPeer = watchedPeer
    }
    deinit { close() }

    public func close() {
        closed.withLock { done in
            if !done { done = true; Glibc.close(fd) }
        }
    }

    /// Bounds each read: a receive that waits longer throws (a keeper that stopped answering
    /// must not hold a command past its own deadline). `.zero` waits without a bound again.
    public func setReceiveTimeout(_ limit: Duration) {
        let (seconds, attoseconds) = max(limit, .zero).components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        if limit > .zero && tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        bounded.withLock { $0 = limit > .zero }
    }

    /// Wakes a reader blocked on this socket (it sees EOF); the descriptor stays open.
    func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    public func send(_ kind: KeeperFrameKind, _ payload: Data) throws {
        var frame = Data(capacity: payload.count + 5)
        frame.append(kind.rawValue)
        let n = UInt32(payload.count)
        frame.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)])
        frame.append(payload)
        try writeLock.withLock { _ in try write(frame) }
    }

    private func write(_ frame: Data) throws {
        try frame.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let w = Glibc.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if w < 0 {
                    if errno == EINTR { continue }
                    throw KeeperError.socket(path: "fd \(fd)", reason: LocalFileError.errnoText())
                }
                off += w
            }
        }
    }

    public func send<T: Encodable>(_ kind: KeeperFrameKind, json value: T) throws {
        try send(kind, try JSONEncoder().encode(value))
    }

    /// One request and its reply (the ops that are a single exchange: open, ping, list, stop,
    /// drop); a keeper that closes instead of replying is a protocol violation.
    public func ask(_ request: KeeperRequest) throws -> KeeperReply {
        try send(.request, json: request)
        guard let (kind, data) = try receive(), kind == .reply else {
            throw KeeperError.protocolViolation("no reply to \(request.op.rawValue)")
        }
        return try JSONDecoder().decode(KeeperReply.self, from: data)
    }

    /// The next frame, or nil at EOF between frames.
    public func receive() throws -> (KeeperFrameKind, Data)? {
        var header = [UInt8](repeating: 0, count: 5)
        guard try header.withUnsafeMutableBytes({ try readExactly($0, allowEOF: true) }) else { return nil }
        guard let kind = KeeperFrameKind(rawValue: header[0]) else { throw KeeperError.protocolViolation("frame kind \(header[0])") }
        let n = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
        guard n <= Self.maxFrame else { throw KeeperError.protocolViolation("frame of \(n) bytes") }
        // Read in place: a copy of each frame would double what a relayed output holds.
        var body = Data(count: n)
        if n > 0 { _ = try body.withUnsafeMutableBytes { try readExactly($0, allowEOF: false) } }
        return (kind, body)
    }

    private func readExactly(_ buf: UnsafeMutableRawBufferPointer, allowEOF: Bool) throws -> Bool {
        // A watched wait reads without blocking and waits in `waitReadable` when nothing is there.
        let watch = watchedPeer.flatMap { bounded.withLock { $0 } ? nil : $0 }
        var off = 0
        while off < buf.count {
            let r = Glibc.recv(fd, buf.baseAddress! + off, buf.count - off, watch == nil ? 0 : Int32(MSG_DONTWAIT))
            if r < 0 {
                if errno == EINTR { continue }
                if let pid = watch, errno == EAGAIN || errno == EWOULDBLOCK {
                    try waitReadable(peer: pid)
                    continue
                }
                throw KeeperError.socket(path: "fd \(fd)", reason: LocalFileError.errnoText())
            }
            if r == 0 {
                if off == 0 && allowEOF { return false }
                throw KeeperError.socket(path: "fd \(fd)", reason: "closed in the middle of a frame")
            }
            off += r
        }
        return true
    }

    /// Returns once the socket has something to read (or an error or EOF, which recv tells);
    /// throws `keeperStopped` once the keeper was seen stopped for `stoppedLimit`. A keeper
    /// that runs but is silent (a long command) is waited for.
    private func waitReadable(peer pid: Int32) throws {
        var stoppedSince: ContinuousClock.Instant?
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Self.peerCheckInterval)
            if r > 0 || (r < 0 && errno != EINTR) { return }
            guard r == 0, Self.isStopped(pid) else {
                stoppedSince = nil
                continue
            }
            let now = ContinuousClock.now
            guard let since = stoppedSince else {
                stoppedSince = now
                continue
            }
            if now - since >= Self.stoppedLimit { throw KeeperError.keeperStopped(pid: pid, host: nil) }
        }
    }

    /// Whether process `pid` is stopped (state T or t in /proc/PID/stat); false when it is gone.
    static func isStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        // "PID (COMM) STATE ...": COMM may hold spaces and parentheses, the state follows the last ")".
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "T" || state == "t"
    }

    // MARK: - Unix sockets

    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw KeeperError.socket(path: path, reason: "path longer than a unix socket allows")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    /// Connects to the socket at `path`; the errno on failure is in the error's reason and in `lastErrno`.
    public static func connect(_ path: String) throws -> KeeperSocket {
        var addr = try address(path)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KeeperError.socket(path: path, reason: LocalFileError.errnoText()) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw KeeperConnectFailure(errno: e, error: .socket(path: path, reason: String(cString: strerror(e))))
        }
        return KeeperSocket(fd: fd, watchedPeer: peerCredentials(fd).map(\.pid).flatMap { $0 > 0 ? $0 : nil })
    }

    /// A listening socket at `path` (replacing a stale one), mode 0600 from its creation.
    static func listen(_ path: String) throws -> Int32 {
        var addr = try address(path)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KeeperError.socket(path: path, reason: LocalFileError.errnoText()) }
        unlink(path)
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard rc == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 128) == 0 else {
            let why = LocalFileError.errnoText()
            Glibc.close(fd)
            throw KeeperError.socket(path: path, reason: why)
        }
        return fd
    }

    /// The uid of the process at the other end (SO_PEERCRED), nil when the kernel does not say.
    public static func peerUID(_ fd: Int32) -> uid_t? { peerCredentials(fd)?.uid }

    /// The pid and uid at the other end (SO_PEERCRED; for a command's connection, the keeper's,
    /// as they were when it listened), nil when the kernel does not say.
    static func peerCredentials(_ fd: Int32) -> (pid: Int32, uid: uid_t)? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var cred: (Int32, UInt32, UInt32) = (0, 0, 0)
        var len = socklen_t(MemoryLayout.size(ofValue: cred))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0, Int(len) == MemoryLayout.size(ofValue: cred) else { return nil }
        return (cred.0, cred.1)
    }
}

/// A failed connect with its errno (ENOENT, ECONNREFUSED: no keeper runs).
public struct KeeperConnectFailure: Error, Sendable {
    public let errno: Int32
    public let error: KeeperError
}

extension KeeperError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .socket: "keeper.socket"
        case .unsafeDirectory: "keeper.unsafe-directory"
        case .protocolViolation: "keeper.protocol-violation"
        case .notServed: "keeper.not-served"
        case .lostDuringCommand: "keeper.lost-during-command"
        case .keeperStopped: "keeper.stopped"
        case .badPersist: "keeper.bad-persist"
        }
    }
}
