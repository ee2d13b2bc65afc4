import Foundation
import Logging
import SSHKit
import SwockStore
import SwockSupport
import Synchronization

/// The connection keeper (`swock-machine keeper serve`): one per user and store, listening
/// only on its unix socket (`KeeperPlace`). It holds authenticated SSH sessions per machine,
/// opened by `MachineSSH` with the record's pinned host key, and runs each command on a channel
/// of one of them. A machine gets a second session only while its first is busy (a session runs
/// one command at a time). A session idle for a while is probed (a keepalive round trip) before
/// reuse (a channel opened and closed) and replaced when dead, so a rebooted host costs one new connection, pinned as every
/// connection is. A changed record or known_hosts file, or `drop` (rm, regenerate-certs,
/// import), ends a machine's sessions. Peers of another uid are refused (SO_PEERCRED). It ends
/// once no command has been connected for its idle time.
// `@unchecked Sendable`: its shared state is behind `state` (a Mutex); `ours`, the listening
// socket's inode, is written once by `run()` before any client thread starts.
public final class KeeperServer: @unchecked Sendable {
    let store: Store
    let place: KeeperPlace
    let logger: Logger
    private let state: Mutex<State>
    /// Engine API connections kept for `ls` (`ping`).
    let engines = KeeperEngines()
    /// Shared by the client threads; the pools' own fields change under this lock too.
    struct State {
        var persist: Duration
        var clients = 0
        var lastActivity = ContinuousClock.now
        var stopping = false
        var pools: [String: Pool] = [:]
        /// A client finished since the heap was last given back (`releaseFreedMemory`).
        var heapToTrim = false
    }
    /// Sessions idle longer than this are probed before reuse (and any whose socket shows the
    /// peer spoke or hung up, however recently used).
    static let probeAfter: Duration = .seconds(1)
    static let maxIdlePerMachine = 8

    // `@unchecked Sendable`: a pool's fields change only under the server's `state` Mutex.
    final class Pool: @unchecked Sendable {
        var idle: [(session: SSHSession, since: ContinuousClock.Instant)] = []
        var inUse = 0
        /// `connectionIdentity` of the record the sessions were opened under.
        var record: Data
        var knownHosts: Data
        var target = ""
        var fingerprint = ""
        var lastUsed = ContinuousClock.now
        init(record: Data, knownHosts: Data) {
            self.record = record
            self.knownHosts = knownHosts
        }
    }

    struct Lease: Sendable {
        let machine: String
        let session: SSHSession
        let pool: Pool
    }

    public init(store: Store, place: KeeperPlace, persist: Duration, logger: Logger) {
        self.store = store
        self.place = place
        self.state = Mutex(State(persist: persist))
        self.logger = logger
    }

    /// Serves until idle; returns at once when another keeper of this store already runs.
    public func run() throws {
        signal(SIGPIPE, SIG_IGN)
        try place.ensureDirectory()
        let lockFD = open(place.lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw KeeperError.socket(path: place.lockFile, reason: LocalFileError.errnoText()) }
        // One keeper per store: the lock says who. A keeper on its way out still holds it for a
        // moment; one that answers on the socket means this one is not needed.
        var locked = false
        for _ in 0..<150 {
            if flock(lockFD, LOCK_EX | LOCK_NB) == 0 { locked = true; break }
            if let s = try? KeeperSocket.connect(place.socket) { s.close(); break }
            usleep(20_000)
        }
        guard locked else { Glibc.close(lockFD); return }
        let listenFD = try KeeperSocket.listen(place.socket)
        stat(place.socket, &ours)
        // Each session and client has a thread; glibc would give busy threads arenas of their
        // own (up to 8 per core), each keeping what it freed. Two are plenty for threads that
        // mostly wait on sockets.
        ProcessMemory.limitArenas(to: 2)
        ProcessMemory.releaseStartupCode()
        logger.debug("keeper up", metadata: ["socket": "\(place.socket)", "persist": "\(state.withLock { $0.persist })"])
        while true {
            var p = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, 250)
            if n > 0 {
                let fd = accept(listenFD, nil, nil)
                if fd >= 0 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    serveConnection(fd)
                }
            }
            if shouldEnd() { break }
            releaseFreedMemory()
        }
        unlinkSocket()
        Glibc.close(listenFD)
        Glibc.close(lockFD)  // a new keeper may start while this one closes its sessions
        engines.dropAll()
        let sessions = state.withLock { s in
            defer { s.pools = [:] }
            return s.pools.values.flatMap { $0.idle.map(\.session) }
        }
        let group = DispatchGroup()
        for s in sessions {
            group.enter()
            Task {
                await s.close(); group.leave()
            }
        }
        _ = group.wait(timeout: .now() + 2)
    }

    /// The listening socket's inode, to remove only our own socket file.
    private var ours = stat()

    /// The socket goes first, so that no command connects to a keeper on its way out.
    private func unlinkSocket() {
        var now = stat()
        if stat(place.socket, &now) == 0, now.st_ino == ours.st_ino, now.st_dev == ours.st_dev { unlink(place.socket) }
    }

    private func shouldEnd() -> Bool {
        state.withLock { s in
            s.stopping || (s.clients == 0 && ContinuousClock.now - s.lastActivity >= s.persist)
        }
    }

    /// Once no command is connected, the heap that the last ones' output passed through goes
    /// back to the system. Measured with 100 held sessions on one quiet host: 1 MB of output
    /// from each left the keeper at 51 MB resident until it ended; with two arenas and this
    /// trim, 40 MB (29 MB before that output: what stays is held by the sessions themselves).
    /// The code pages the burst ran go too, as at start (`releaseStartupCode`): an idle keeper
    /// holds its sessions, not the code that served them (clean pages of the executable, back
    /// from the page cache when the next command runs).
    private func releaseFreedMemory() {
        let trim = state.withLock { s in
            guard s.heapToTrim, s.clients == 0 else { return false }
            s.heapToTrim = false
            return true
        }
        if trim {
            ProcessMemory.releaseFreed()
            ProcessMemory.releaseStartupCode()
        }
    }

    private func serveConnection(_ fd: Int32) {
        let socket = KeeperSocket(fd: fd)
        guard KeeperSocket.peerUID(fd) == geteuid() else {
            // Another user's command: refused; the directory's mode should already keep it out.
            try? socket.send(.reply, json: KeeperReply.unavailable("refused: this keeper serves uid \(geteuid()) only"))
            socket.close()
            return
        }
        state.withLock { s in
            s.clients += 1
            s.lastActivity = .now
        }
        let thread = Thread { [self] in
            handle(socket)
            socket.close()
            state.withLock { s in
                s.clients -= 1
                s.lastActivity = .now
                s.heapToTrim = true
            }
        }
        thread.name = "keeper-client"
        thread.start()
    }

    // MARK: - One client connection (its own thread)

    private func handle(_ socket: KeeperSocket) {
        var lease: Lease?
        var broken = false
        defer { if let lease { giveBack(lease, broken: broken) } }
        while let frame = try? socket.receive() {
            guard frame.0 == .request, let req = try? JSONDecoder().decode(KeeperRequest.self, from: frame.1) else {
                try? socket.send(.reply, json: KeeperReply.unavailable("expected a request"))
                return
            }
            if let p = req.persist, p >= 0 {
                state.withLock { $0.persist = .milliseconds(Int64(p * 1000)) }
            }
            if let s = req.store, s != store.root {
                try? socket.send(.reply, json: KeeperReply.unavailable("this keeper serves the store \(store.root)"))
                return
            }
            switch req.op {
            case .list:
                var r = KeeperReply()
                r.pid = getpid()
                r.store = store.root
                r.persist = state.withLock { $0.persist.timeInterval }
                r.held = held()
                r.engines = engines.machines
                try? socket.send(.reply, json: r)
            case .stop:
                unlinkSocket()
                state.withLock { $0.stopping = true }
                var r = KeeperReply()
                r.pid = getpid()
                try? socket.send(.reply, json: r)
                return
            case .drop:
                if let m = req.machine { drop(m) }
                try? socket.send(.reply, json: KeeperReply())
            case .open:
                guard lease == nil, let machine = req.machine else {
                    try? socket.send(.reply, json: KeeperReply.unavailable("open: one machine per connection"))
                    return
                }
                do {
                    let l = try blocking { try await self.lease(machine, budget: req.budget.map { .milliseconds(Int64($0 * 1000)) }) }
                    lease = l
                    var r = KeeperReply()
                    r.host = l.session.target.host
                    r.port = l.session.target.port
                    r.user = l.session.target.user
                    r.fingerprint = l.session.hostKeyFingerprint
                    r.jumps = l.session.jumpHostFingerprints.map {
                        KeeperJump(host: $0.hop.host, port: $0.hop.port, user: $0.hop.user, fingerprint: $0.fingerprint)
                    }
                    r.ops = KeeperRequest.Op.allCases.map(\.rawValue)
                    try? socket.send(.reply, json: r)
                } catch {
                    try? socket.send(.reply, json: KeeperReply.failure(error))
                    return
                }
            case .exec:
                guard let l = lease, let command = req.command else {
                    try? socket.send(.reply, json: KeeperReply.unavailable("exec before open"))
                    return
                }
                broken = exec(command, req, on: l, socket: socket)
                if req.stdin == true || broken { return }
            case .forward:
                guard lease == nil else {
                    try? socket.send(.reply, json: KeeperReply.unavailable("forward: a connection of its own"))
                    return
                }
                forward(req, socket: socket)
                return
            case .ping:
                guard lease == nil else {
                    try? socket.send(.reply, json: KeeperReply.unavailable("ping: a connection of its own"))
                    return
                }
                var r = KeeperReply()
                let timeout = Duration.milliseconds(Int64(min(max(req.timeout ?? 3, 0.05), 600) * 1000))
                r.pings = engines.ping(req.machines ?? [], store: store, timeout: timeout)
                try? socket.send(.reply, json: r)
                return
            case .file:
                guard let l = lease, let op = req.file else {
                    try? socket.send(.reply, json: KeeperReply.unavailable("file before open"))
                    return
                }
                let (end, lost) = serveFile(op, on: l, socket: socket)
                broken = lost
                if end { return }
            }
        }
    }

    /// Runs one command on the leased session, streaming its output; stdin frames (when the
    /// request says so) are read on a thread of their own into a pipe the session reads. Sends
    /// the reply; true when the session is lost.
    private func exec(_ command: String, _ req: KeeperRequest, on lease: Lease, socket: KeeperSocket) -> Bool {
        var stdin = StdinSource.none
        var pipeFDs: [Int32] = [-1, -1]
        let pumpDone = DispatchSemaphore(value: 0)
        if req.stdin == true {
            guard pipe(&pipeFDs) == 0 else {
                try? socket.send(.reply, json: KeeperReply.unavailable("pipe: \(LocalFileError.errnoText())"))
                return false
            }
            for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            stdin = .fileDescriptor(pipeFDs[0])
            let writeFD = pipeFDs[1]
            let pump = Thread {
                defer { Glibc.close(writeFD); pumpDone.signal() }
                while let (kind, data) = try? socket.receive(), kind == .stdin, !data.isEmpty {
                    let ok = data.withUnsafeBytes { raw -> Bool in
                        var off = 0
                        while off < raw.count {
                            let w = write(writeFD, raw.baseAddress! + off, raw.count - off)
                            if w < 0 { if errno == EINTR { continue }; return false }
                            off += w
                        }
                        return true
                    }
                    if !ok { break }
                }
            }
            pump.name = "keeper-stdin"
            pump.start()
        }
        let input = stdin
        let timeout = req.timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
        let asRoot = req.asRoot ?? false
        var reply = KeeperReply()
        var lost = false
        do {
            let r = try blocking {
                try await lease.session.execute(
                    command, asRoot: asRoot, stdin: input, timeout: timeout, collect: false,
                    onStdout: { try? socket.send(.stdout, $0) },
                    onStderr: { try? socket.send(.stderr, $0) })
            }
            reply.exitStatus = r.exitStatus
            reply.signal = r.signal
        } catch let e as SSHError {
            reply.error = e
            switch e {
            case .connectionLost, .disconnected, .commandTimedOut: lost = true
            default: break
            }
        } catch {
            reply.error = .channelFailed(host: lease.session.target.host, reason: "\(error)")
            lost = true
        }
        try? socket.send(.reply, json: reply)
        if req.stdin == true {
            Glibc.close(pipeFDs[0])
            // The client may still hold its stdin open: wake the pump, wait for it.
            socket.shutdown()
            pumpDone.wait()
        }
        state.withLock { _ in lease.pool.lastUsed = .now }
        return lost
    }

    // MARK: - The pool

    /// A session to `machine`: an idle one (probed when idle a while), else a new connection.
    func lease(_ machine: String, budget: Duration?) async throws -> Lease {
        let configPath = store.configPath(machine)
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw KeeperError.notServed("no record for \(machine)")
        }
        let config = try store.load(machine)
        let record = Self.connectionIdentity(
            config, sudoPassword: FileManager.default.contents(atPath: store.resolve(Store.sudoPasswordPath(machine))))
        let knownHosts = FileManager.default.contents(atPath: store.resolve(config.ssh.knownHostsPath)) ?? Data()
        let (pool, stale, taken) = state.withLock { s -> (Pool, [SSHSession], (session: SSHSession, since: ContinuousClock.Instant)?) in
            var stale: [SSHSession] = []
            let pool: Pool
            if let p = s.pools[machine], p.record == record, p.knownHosts == knownHosts {
                pool = p
            } else {
                // A changed record or pinned key: the sessions opened under the old one go.
                if let p = s.pools[machine] { stale = p.idle.map(\.session) }
                pool = Pool(record: record, knownHosts: knownHosts)
                s.pools[machine] = pool
            }
            pool.inUse += 1
            return (pool, stale, pool.idle.popLast())
        }
        var reuse = taken
        for s in stale { Task { await s.close() } }
        do {
            var mustProbe = false
            if let candidate = reuse {
                mustProbe = ContinuousClock.now - candidate.since >= Self.probeAfter
                if !mustProbe { mustProbe = await candidate.session.peerSpoke() }
            }
            if let candidate = reuse, mustProbe {
                let probe = budget.map { min($0, .seconds(5)) } ?? .seconds(5)
                do {
                    try await withDeadline(probe, timeoutError: SSHError.disconnected(host: candidate.session.target.host)) {
                        try await candidate.session.probe()
                    }
                } catch {
                    logger.debug("keeper: held connection is gone; reconnecting", metadata: ["machine": "\(machine)"])
                    Task { await candidate.session.close() }
                    reuse = nil
                }
            }
            let session: SSHSession
            if let r = reuse {
                session = r.session
            } else {
                session = try await MachineSSH(store: store, logger: logger).connect(config, budget: budget)
            }
            state.withLock { _ in
                pool.target = "\(session.target)"
                pool.fingerprint = session.hostKeyFingerprint
            }
            return Lease(machine: machine, session: session, pool: pool)
        } catch {
            state.withLock { _ in pool.inUse -= 1 }
            throw error
        }
    }

    /// What a held session was opened under: the address, the SSH settings and the sudo password.
    /// Other changes to the record (provisioning's progress, the engine's state) keep the sessions.
    static func connectionIdentity(_ config: MachineConfig, sudoPassword: Data?) -> Data {
        struct Identity: Encodable {
            var address: String
            var ssh: SSHSettings
            var sudo: Data?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(Identity(address: config.address, ssh: config.ssh, sudo: sudoPassword))) ?? Data()
    }

    func giveBack(_ lease: Lease, broken: Bool) {
        let keep = state.withLock { s in
            lease.pool.inUse -= 1
            lease.pool.lastUsed = .now
            let keep = !broken && s.pools[lease.machine] === lease.pool && lease.pool.idle.count < Self.maxIdlePerMachine
            if keep { lease.pool.idle.append((lease.session, .now)) }
            return keep
        }
        if !keep { Task { await lease.session.close() } }
    }

    func drop(_ machine: String) {
        engines.drop(machine)
        let gone = state.withLock { $0.pools.removeValue(forKey: machine) }
        for s in gone?.idle ?? [] { Task { await s.session.close() } }
    }

    func held() -> [KeeperHeld] {
        let now = ContinuousClock.now
        return state.withLock { s in
            s.pools.sorted { $0.key < $1.key }.compactMap { name, p in
                guard p.inUse + p.idle.count > 0 else { return nil }
                return KeeperHeld(
                    machine: name, target: p.target, fingerprint: p.fingerprint, connections: p.inUse + p.idle.count,
                    inUse: p.inUse, idleSeconds: p.inUse > 0 ? 0 : (now - p.lastUsed).timeInterval)
            }
        }
    }

    /// Runs async work from a plain thread and waits for it (the thread is ours, not the pool's).
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}

// `@unchecked Sendable`: written by one thread before it signals the semaphore, read after the wait.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
