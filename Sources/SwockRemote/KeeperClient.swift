import Foundation
import Logging
import SSHKit
import SwockRuntime
import SwockStore
import SwockSupport
import Synchronization

/// A command's side of the connection keeper: finds the store's keeper, starts it when none
/// runs, and hands out `KeeperHost`s. Whenever the keeper cannot be reached or cannot serve a
/// machine, the caller connects directly (nil from `open`); once a keeper failed in this process,
/// every later machine connects directly too.
public final class KeeperClient: Sendable {
    public let store: Store
    public let place: KeeperPlace
    public let persist: Duration
    let logger: Logger
    /// Held while the keeper is found or started, so that concurrent commands start one.
    private let state = Mutex(State.unknown)
    enum State { case unknown, up, dead }

    /// A client for the commands of this process; nil when `persist` is zero (keeper off).
    public static func forCommands(store: Store, persist: Duration, logger: Logger = Logger(label: "swock.keeper")) -> KeeperClient? {
        persist > .zero ? KeeperClient(store: store, persist: persist, logger: logger) : nil
    }

    public init(
        store: Store, persist: Duration, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "swock.keeper")
    ) {
        self.store = store
        self.place = KeeperPlace(storeRoot: store.root, environment: environment)
        self.persist = persist
        self.logger = logger
    }

    /// The keeper gave trouble: this process connects directly from now on.
    func markDead(_ why: String) {
        state.withLock { $0 = .dead }
        logger.debug("keeper not used", metadata: ["why": "\(why)"])
    }

    /// A connection to the running keeper, or nil when none runs (nothing is started).
    public static func connectIfRunning(_ place: KeeperPlace) -> KeeperSocket? {
        guard (try? KeeperPlace.checkPrivate(place.directory)) != nil else { return nil }
        return try? KeeperSocket.connect(place.socket)
    }

    /// A connection to the keeper, starting it when none runs; nil: connect directly.
    func socket() -> KeeperSocket? {
        state.withLock { state in
            if state == .dead { return nil }
            do {
                try place.ensureDirectory()
            } catch {
                state = .dead
                logger.warning("\(error)")
                return nil
            }
            do {
                let s = try KeeperSocket.connect(place.socket)
                state = .up
                return s
            } catch let f as KeeperConnectFailure where state == .unknown && (f.errno == ENOENT || f.errno == ECONNREFUSED) {
                // None runs: start one and wait (briefly) for its socket.
                state = .dead
                guard start() else { return nil }
                let clock = ContinuousClock()
                let until = clock.now + .seconds(3)
                while clock.now < until {
                    if let s = try? KeeperSocket.connect(place.socket) {
                        state = .up
                        return s
                    }
                    usleep(2000)
                }
                logger.debug("keeper did not come up in 3 s")
                return nil
            } catch {
                state = .dead
                return nil
            }
        }
    }

    /// Starts `swock-machine keeper serve` for this store, detached (own session, no terminal,
    /// stdio on /dev/null), with this process's environment (SSH agent, key passphrase).
    private func start() -> Bool {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return false }
        let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let null = Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard null >= 0 else { return false }
        defer { close(null) }
        let argv = [exe, "keeper", "serve", "--storage-path", store.root, "--persist", "\(persist.timeInterval)s"]
        guard
            let pid = try? LocalProcess.spawn(
                argv, environment: ProcessInfo.processInfo.environment,
                stdout: null, stderr: null, newSession: true, closeOthers: true)
        else { return false }
        // Reaped by whoever outlives it: a zombie until this command exits is harmless, but do not
        // keep one around in a long-lived process.
        Thread.detachNewThread {
            var st: Int32 = 0; waitpid(pid, &st, 0)
        }
        return true
    }

    /// A host whose commands run through the keeper; nil: connect directly. Throws the SSH
    /// error the keeper met connecting (a changed host key, refused auth, unreachable host):
    /// a direct connection would meet the same.
    public func open(_ config: MachineConfig, budget: Duration?, direct: @escaping @Sendable () async throws -> SSHSession) async throws
        -> KeeperHost?
    {
        let reply: (KeeperSocket, KeeperReply)? = try await OffPool.run("keeper-open") { [self] in
            guard let s = socket() else { return nil }
            let req = KeeperRequest(
                op: .open, machine: config.name, store: store.root, budget: budget?.timeInterval,
                persist: persist.timeInterval)
            do {
                return (s, try s.ask(req))
            } catch {
                markDead("\(error)")
                return nil
            }
        }
        guard let (socket, r) = reply else { return nil }
        if let e = r.error { throw e }
        guard r.unavailable == nil, let host = r.host, let port = r.port, let user = r.user, let fp = r.fingerprint else {
            logger.debug("keeper cannot serve \(config.name): \(r.unavailable ?? "incomplete reply")")
            return nil
        }
        return KeeperHost(
            client: self, config: config, socket: socket, target: SSHTarget(host: host, port: port, user: user),
            fingerprint: fp, jumps: (r.jumps ?? []).map { (SSHTarget(host: $0.host, port: $0.port, user: $0.user), $0.fingerprint) },
            ops: r.ops ?? [], direct: direct)
    }

    /// The daemons of `machines` asked by the keeper over the Engine API connections it keeps
    /// (started when none runs), within `timeout`: each served machine's answer by name; nil
    /// when the keeper cannot serve (ask the daemons directly).
    public func pingEngines(_ machines: [String], timeout: Duration) async -> [String: KeeperPing]? {
        guard !machines.isEmpty else { return [:] }
        return try? await OffPool.run("keeper-ping") { [self] () -> [String: KeeperPing]? in
            guard let s = socket() else { return nil }
            defer { s.close() }
            // Its answer comes within `timeout`; a keeper that does not answer by then (stopped,
            // not dead) is given up, and `ls` asks the daemons itself.
            s.setReceiveTimeout(timeout + .seconds(2))
            let req = KeeperRequest(
                op: .ping, store: store.root, timeout: timeout.timeInterval, persist: persist.timeInterval, machines: machines)
            do {
                let r = try s.ask(req)
                guard r.unavailable == nil, let pings = r.pings else {
                    logger.debug("keeper cannot ping: \(r.unavailable ?? "no answers")")
                    return nil
                }
                return Dictionary(pings.map { ($0.machine, $0) }, uniquingKeysWith: { a, _ in a })
            } catch {
                markDead("\(error)")
                return nil
            }
        }
    }

    /// Tells a running keeper to end its connections to `machine` (rm, regenerate-certs,
    /// import over a name). Starts nothing; a keeper that is not running holds nothing.
    public static func drop(_ machine: String, store: Store) {
        guard let s = connectIfRunning(KeeperPlace(storeRoot: store.root)) else { return }
        defer { s.close() }
        _ = try? s.ask(KeeperRequest(op: .drop, machine: machine, store: store.root))
    }

    /// What the running keeper holds; nil when none runs.
    public static func list(store: Store) throws -> KeeperReply? {
        guard let s = connectIfRunning(KeeperPlace(storeRoot: store.root)) else { return nil }
        defer { s.close() }
        let r = try s.ask(KeeperRequest(op: .list, store: store.root))
        if let why = r.unavailable { throw KeeperError.notServed(why) }
        return r
    }

    /// Stops the running keeper (its connections end); the pid it had, nil when none ran.
    public static func stop(store: Store) throws -> Int32? {
        guard let s = connectIfRunning(KeeperPlace(storeRoot: store.root)) else { return nil }
        defer { s.close() }
        let r = try s.ask(KeeperRequest(op: .stop, store: store.root))
        if let why = r.unavailable { throw KeeperError.notServed(why) }
        return r.pid
    }
}

/// A machine reached through the connection keeper: commands run on a channel of a session
/// the keeper holds, and so do file transfers, SFTP and root installs (KeeperFiles.swift) when
/// the keeper serves them. What the keeper cannot carry goes through a direct session, opened
/// on first use.
public final class KeeperHost: RemoteHost, Sendable {
    public let target: SSHTarget
    public let hostKeyFingerprint: String
    public let jumpHostFingerprints: [(hop: SSHTarget, fingerprint: String)]
    public var forwardingSession: SSHSession? { nil }
    let client: KeeperClient
    let config: MachineConfig
    /// The keeper connection (nil once it ended) and the direct session (opened on first need).
    let held: Mutex<(socket: KeeperSocket?, directSession: SSHSession?)>
    /// The keeper serves `file` requests (KeeperFiles.swift); an older one does not.
    let servesFiles: Bool
    private let direct: @Sendable () async throws -> SSHSession

    init(
        client: KeeperClient, config: MachineConfig, socket: KeeperSocket, target: SSHTarget, fingerprint: String,
        jumps: [(hop: SSHTarget, fingerprint: String)], ops: [String], direct: @escaping @Sendable () async throws -> SSHSession
    ) {
        self.servesFiles = ops.contains(KeeperRequest.Op.file.rawValue)
        self.client = client
        self.config = config
        self.held = Mutex((socket, nil))
        self.target = target
        self.hostKeyFingerprint = fingerprint
        self.jumpHostFingerprints = jumps
        self.direct = direct
    }

    public func execute(
        _ command: String, asRoot: Bool, stdin: StdinSource, timeout: Duration?, collect: Bool,
        onStdout: OutputHandler?, onStderr: OutputHandler?
    ) async throws -> ExecResult {
        let taken: KeeperSocket? = held.withLock { h in
            defer { h.socket = nil }
            return h.socket
        }
        guard let s = taken else {
            // An earlier command with stdin ended the keeper connection: this one goes directly.
            return try await directHost().execute(
                command, asRoot: asRoot, stdin: stdin, timeout: timeout, collect: collect,
                onStdout: onStdout, onStderr: onStderr)
        }
        let host = target.host
        let client = client
        let (result, reusable) = try await OffPool.run("keeper-exec") { () throws -> (ExecResult, Bool) in
            try Self.exchange(
                s, command: command, asRoot: asRoot, stdin: stdin, timeout: timeout, collect: collect,
                onStdout: onStdout, onStderr: onStderr, host: host, client: client)
        }
        if reusable {
            held.withLock { $0.socket = s }
        } else {
            s.close()
        }
        return result
    }

    /// One `exec` on the keeper connection, on a thread of our own.
    static func exchange(
        _ s: KeeperSocket, command: String, asRoot: Bool, stdin: StdinSource, timeout: Duration?, collect: Bool,
        onStdout: OutputHandler?, onStderr: OutputHandler?, host: String, client: KeeperClient
    ) throws -> (ExecResult, Bool) {
        let started = ContinuousClock.now
        let hasStdin: Bool
        switch stdin {
        case .none: hasStdin = false
        default: hasStdin = true
        }
        do {
            try s.send(
                .request,
                json: KeeperRequest(
                    op: .exec, command: command, asRoot: asRoot, timeout: timeout?.timeInterval,
                    stdin: hasStdin))
        } catch {
            client.markDead("\(error)")
            throw KeeperError.lostDuringCommand(host: host)
        }
        if hasStdin {
            let pump = Thread { pumpStdin(stdin, to: s) }
            pump.name = "keeper-stdin"
            pump.start()
        }
        var out = Data(), err = Data()
        while true {
            let frame: (KeeperFrameKind, Data)?
            do {
                frame = try s.receive()
            } catch KeeperError.keeperStopped(let pid, _) {
                client.markDead("the keeper (pid \(pid)) is stopped")
                throw KeeperError.keeperStopped(pid: pid, host: host)
            } catch {
                frame = nil
            }
            guard let (kind, data) = frame else {
                client.markDead("the keeper went away during a command")
                throw KeeperError.lostDuringCommand(host: host)
            }
            switch kind {
            case .stdout:
                if collect { out.append(data) }
                onStdout?(data)
            case .stderr:
                if collect { err.append(data) }
                onStderr?(data)
            case .reply:
                guard let r = try? JSONDecoder().decode(KeeperReply.self, from: data) else {
                    throw KeeperError.protocolViolation("undecodable reply")
                }
                if let e = r.error { throw e }
                if let why = r.unavailable { throw KeeperError.notServed(why) }
                return (
                    ExecResult(
                        exitStatus: r.exitStatus, signal: r.signal, stdout: out, stderr: err,
                        duration: ContinuousClock.now - started), !hasStdin
                )
            case .request, .stdin:
                throw KeeperError.protocolViolation("frame \(kind) from the keeper")
            }
        }
    }

    /// Sends stdin as frames, then the empty frame (EOF). Ends early when the keeper closes.
    static func pumpStdin(_ source: StdinSource, to s: KeeperSocket) {
        var fd: Int32?
        switch source {
        case .none: break
        case .data(let d): if sendChunks(d, s) == false { return }
        case .fileDescriptor(let f): fd = f
        case .prefixed(let d, let f):
            if sendChunks(d, s) == false { return }
            fd = f
        }
        if let fd {
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                if (try? s.send(.stdin, Data(buf[0..<n]))) == nil { return }
            }
        }
        try? s.send(.stdin, Data())
    }

    private static func sendChunks(_ d: Data, _ s: KeeperSocket) -> Bool {
        var off = 0
        while off < d.count {
            let end = min(d.count, off + 65536)
            if (try? s.send(.stdin, d.subdata(in: off..<end))) == nil { return false }
            off = end
        }
        return true
    }

    func directHost() async throws -> SSHSession {
        if let d = held.withLock({ $0.directSession }) { return d }
        let d = try await direct()
        held.withLock { $0.directSession = d }
        return d
    }

    public func close() async {
        let (s, d) = held.withLock { h in
            defer { h = (nil, nil) }
            return h
        }
        s?.close()
        await d?.close()
    }
}

extension MachineSSH {
    /// A host to run commands on: through the connection keeper when `keeper` is given and
    /// serves, else a direct session. Either way the host key is the pinned one.
    public func commandHost(_ config: MachineConfig, budget: Duration? = nil, keeper: KeeperClient?) async throws -> any RemoteHost {
        try await fileHost(config, budget: budget, keeper: keeper)
    }

    /// `commandHost`, with the SFTP primitives `scp` uses.
    public func fileHost(_ config: MachineConfig, budget: Duration? = nil, keeper: KeeperClient?) async throws -> any RemoteTree {
        if let keeper, let host = try await keeper.open(config, budget: budget, direct: { try await self.connect(config) }) {
            return host
        }
        return try await connect(config, budget: budget)
    }
}
