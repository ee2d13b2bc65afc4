import Foundation
import Glibc
import Logging
import SSHKit
import SwockRuntime
import SwockStore
import SwockSupport
import Synchronization

/// The long-lived Engine API forward of a machine behind jump hosts, for clients that are not
/// this process (the docker CLI after `env`, a docker context after `use`): `swock-machine tunnel
/// NAME` serves 127.0.0.1:`engine.forwardPort` and reconnects through the jump hosts when the
/// session is lost. `env` and `use` start it in the background when it is not running; `rm`
/// stops it; it ends by itself when the machine's record goes or changes.
public struct TunnelService: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public static func pidPath(_ name: String) -> String { "machines/\(name)/tunnel.pid" }
    public static func logPath(_ name: String) -> String { "machines/\(name)/tunnel.log" }

    public struct TunnelError: Error, CustomStringConvertible {
        /// What SwockCommands words the next step from (never the text).
        public enum Kind: Sendable, Equatable {
            /// The machine is reached directly; `serving`: asked to serve the forward itself.
            case direct(serving: Bool)
            case alreadyForwarded
            case other
        }
        public var description: String
        public var machine: String = ""
        public var kind: Kind = .other

        public init(description: String, machine: String = "", kind: Kind = .other) {
            self.description = description
            self.machine = machine
            self.kind = kind
        }
    }

    /// The pid of the tunnel serving `name`, when one runs.
    public func runningPID(_ name: String) -> Int32? {
        guard let text = try? String(contentsOfFile: store.resolve(Self.pidPath(name)), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return nil }
        let args = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return args.contains("tunnel") && args.contains(name) ? pid : nil
    }

    /// Starts the tunnel in the background unless it already serves; returns its pid. `executable`
    /// is this program (the child runs `EXECUTABLE tunnel -s STORE NAME`).
    /// `arguments` go to the background process after its own (the command's keeper setting,
    /// which it would otherwise take from the environment only).
    public func ensureRunning(_ config: MachineConfig, executable: String, arguments: [String] = []) async throws -> Int32 {
        guard config.isBehindJumpHosts, let port = config.engine.forwardPort else {
            throw TunnelError(
                description: "\(config.name) is reached directly (not through jump hosts): it needs no tunnel",
                machine: config.name, kind: .direct(serving: false))
        }
        if let pid = runningPID(config.name) {
            if TCPProbe.acceptsNow(port: port) { return pid }
        } else if TCPProbe.acceptsNow(port: port) {
            throw TunnelError(
                description:
                    "127.0.0.1:\(port), the Engine API forward of \(config.name), is taken by another program; stop it, or remove the machine and create it again to get another port"
            )
        }
        let log = store.resolve(Self.logPath(config.name))
        let pid = try Self.spawnDetached(executable, ["tunnel", "-s", store.root] + arguments + [config.name], log: log)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if TCPProbe.acceptsNow(port: port) { return pid }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                let last =
                    text.textLines().map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.last
                    ?? "no output (log: \(log))"
                throw TunnelError(description: "the Engine API forward of \(config.name) did not start: \(last)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TunnelError(
            description: "the Engine API forward of \(config.name) did not listen on 127.0.0.1:\(port) within 30 s (log: \(log))")
    }

    /// Stops the background tunnel of `name`, if one runs: SIGTERM, then SIGKILL after 3 s.
    /// Returns once the process has ended.
    public func stop(_ name: String) {
        guard let pid = runningPID(name) else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(3)
        while Self.isAlive(pid) {
            if ContinuousClock.now > deadline { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        try? FileManager.default.removeItem(atPath: store.resolve(Self.pidPath(name)))
    }

    /// Running (not gone, not a zombie waiting for its parent to reap it).
    static func isAlive(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)  // our own child: reap it
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    /// Serves the forward in this process until the record goes or changes, or a SIGTERM/SIGINT.
    /// `ready` is called with the jump hosts once the route is up and the port listens. With
    /// `keeper`, connections go through the session it holds while it serves, directly after.
    public func serve(
        _ config: MachineConfig, logger: Logger, keeper: KeeperClient? = nil, ready: (EngineTunnel, [SSHTarget]) -> Void
    ) async throws {
        guard config.isBehindJumpHosts, let port = config.engine.forwardPort else {
            throw TunnelError(
                description: "\(config.name) is reached directly (not through jump hosts): it needs no tunnel",
                machine: config.name, kind: .direct(serving: true))
        }
        if let pid = runningPID(config.name), pid != getpid() {
            throw TunnelError(
                description: "the Engine API of \(config.name) is already forwarded on 127.0.0.1:\(port) (pid \(pid))",
                machine: config.name, kind: .alreadyForwarded)
        }
        let ssh = MachineSSH(store: store, logger: logger)
        // The keeper's first connection is only a check (it reports SSH errors as a connect
        // would): the docker CLI may come much later.
        var route: KeeperRoute?
        if let keeper { route = try await KeeperRoute.open(keeper, config, budget: nil, keepFirst: false) }
        var session: SSHSession?
        if route == nil { session = try await ssh.connect(config) }
        let tunnel: EngineTunnel
        do {
            tunnel = try EngineTunnel(
                session: session, reconnect: { try await ssh.connect(config) },
                to: config.address, port: config.engine.port, listenPort: port, logger: logger, keeper: route)
        } catch {
            throw TunnelError(
                description:
                    "\(error); another program holds the port: stop it, or remove the machine and create it again to get another port")
        }
        let pidFile = store.resolve(Self.pidPath(config.name))
        try AtomicFile.write(Data("\(getpid())\n".utf8), to: pidFile, mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        ready(tunnel, (config.ssh.proxyJump ?? []).map { $0.target(defaultUser: config.ssh.user) })
        let signals = SignalWait([SIGTERM, SIGINT, SIGHUP])
        while !signals.received {
            try? await Task.sleep(for: .milliseconds(500))
            guard let now = try? store.load(config.name), now.ssh.proxyJump == config.ssh.proxyJump,
                now.address == config.address, now.engine.forwardPort == port
            else {
                logger.info("the record changed or went: the forward ends")
                break
            }
        }
        tunnel.close()
    }

    /// Starts `argv` in a session of its own (no terminal, no shared signals), stdin from
    /// /dev/null, output appended to `log`, no other inherited descriptors.
    static func spawnDetached(_ executable: String, _ args: [String], log: String) throws -> Int32 {
        let out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw TunnelError(description: "cannot open \(log): \(LocalFileError.errnoText())") }
        defer { Glibc.close(out) }
        // Nothing else of ours goes with it (a pipe held open would keep a caller waiting for EOF):
        // every descriptor above stderr is close-on-exec (dup2 in a spawn clears it where meant).
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            for f in fds.compactMap(Int32.init) where f > 2 {
                let flags = fcntl(f, F_GETFD)
                if flags >= 0 { _ = fcntl(f, F_SETFD, flags | FD_CLOEXEC) }
            }
        }
        do {
            return try LocalProcess.spawn(
                [executable] + args, environment: ProcessInfo.processInfo.environment,
                stdout: out, stderr: out, newSession: true)
        } catch {
            throw TunnelError(description: "\(error)")
        }
    }
}

/// Remembers whether one of `signals` arrived (their default action is replaced while it lives).
final class SignalWait: Sendable {
    /// The signal sources, alive as long as this object.
    private let sources = Mutex<HeldDispatchSources?>(nil)
    private let got = Mutex(false)

    init(_ signals: [Int32]) {
        var made: [any DispatchSourceProtocol] = []
        for s in signals {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            src.setEventHandler { @Sendable [weak self] in self?.set() }
            src.resume()
            made.append(src)
        }
        let held = HeldDispatchSources(made)
        sources.withLock { $0 = held }
    }

    private func set() { got.withLock { $0 = true } }
    var received: Bool { got.withLock { $0 } }
}

extension TunnelService.TunnelError: CodedError {
    public var code: ErrorCode {
        switch kind {
        case .direct: return "remote.tunnel-not-needed"
        case .alreadyForwarded: return "remote.tunnel-already-running"
        case .other: return "remote.tunnel-failed"
        }
    }
}
