import Foundation
import SwockSupport
import Synchronization

/// Runs a local program on a thread of its own (never on Swift's cooperative pool), streaming
/// its stdout and stderr as they arrive. The child starts with no signal blocked and default
/// dispositions (a Swift process's threads may block signals and we ignore SIGPIPE; a child
/// inherits both), stdin from /dev/null and no descriptors but 0-2.
public enum LocalProcess {
    public struct Exit: Sendable, Equatable {
        /// The exit status, or nil when a signal ended the child.
        public var status: Int32?
        /// The signal name without "SIG" ("TERM"), when one ended the child.
        public var signal: String?
        public var timedOut: Bool
        public var duration: Duration
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// `argv[0]` must be an absolute path. After `timeout` the child gets SIGTERM, then SIGKILL
    /// two seconds later.
    public static func run(
        _ argv: [String], environment: [String: String], timeout: Duration? = nil,
        onStdout: @escaping @Sendable (Data) -> Void, onStderr: @escaping @Sendable (Data) -> Void
    ) async throws -> Exit {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Exit, Error>) in
            let t = Thread {
                cont.resume(
                    with: Result {
                        try runBlocking(argv, environment: environment, timeout: timeout, onStdout: onStdout, onStderr: onStderr)
                    })
            }
            t.name = "child \(argv.first.map { PathText.lastComponent($0) } ?? "")"
            t.start()
        }
    }

    /// The blocking body of `run`: call it only from a thread of your own. `closeOthers`: the
    /// child inherits no descriptor beyond 0-2, close-on-exec or not (for a program that may
    /// leave a daemon behind, which must not hold open what our own starter gave us: a QEMU
    /// that kept a socket of its starter's made `create` look unfinished to that starter).
    public static func runBlocking(
        _ argv: [String], environment: [String: String], timeout: Duration?, closeOthers: Bool = false,
        onStdout: @escaping (Data) -> Void, onStderr: @escaping (Data) -> Void
    ) throws -> Exit {
        guard let program = argv.first, program.hasPrefix("/") else {
            throw LocalFileError(path: argv.first ?? "", reason: "not an absolute path to a program")
        }
        let started = ContinuousClock.now
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        // Pipes are made close-on-exec under the same lock as every spawn, so a child started by
        // another thread never inherits (and holds open) this child's pipes.
        let pid: pid_t = try spawnLock.withLock { _ in
            try makePipe(&outPipe)
            do { try makePipe(&errPipe) } catch { close(outPipe[0]); close(outPipe[1]); throw error }
            do {
                return try spawn(argv, environment: environment, stdout: outPipe[1], stderr: errPipe[1], closeOthers: closeOthers)
            } catch {
                for fd in outPipe + errPipe { close(fd) }
                throw error
            }
        }
        close(outPipe[1]); close(errPipe[1])
        defer { close(outPipe[0]); close(errPipe[0]) }

        let deadline = timeout.map { started + $0 }
        var termSentAt: ContinuousClock.Instant?
        var killed = false
        var open: [(fd: Int32, sink: (Data) -> Void)] = [(outPipe[0], onStdout), (errPipe[0], onStderr)]
        var exitedAt: ContinuousClock.Instant?
        var lastData = started
        var status: Int32 = 0
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }

        while !open.isEmpty {
            let now = ContinuousClock.now
            if let d = deadline, now >= d, exitedAt == nil {
                if termSentAt == nil {
                    kill(pid, SIGTERM); termSentAt = now
                } else if !killed, now - termSentAt! >= .seconds(2) {
                    kill(pid, SIGKILL); killed = true
                }
            }
            // A grandchild may hold the pipes open after the child exits: give it a moment, then stop.
            if exitedAt == nil, waitpid(pid, &status, WNOHANG) == pid { exitedAt = now }
            if let e = exitedAt, now - max(e, lastData) > .milliseconds(300) { break }
            var fds = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let n = poll(&fds, nfds_t(fds.count), 100)
            if n < 0 && errno != EINTR { break }
            var closed: [Int32] = []
            for (i, p) in fds.enumerated() where p.revents != 0 {
                let r = read(p.fd, buffer, 65536)
                if r > 0 {
                    open[i].sink(Data(bytes: buffer, count: r))
                    lastData = ContinuousClock.now
                } else if r == 0 || (errno != EINTR && errno != EAGAIN) {
                    closed.append(p.fd)
                }
            }
            open.removeAll { closed.contains($0.fd) }
        }
        if exitedAt == nil {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        let sig = status & 0x7f
        let timedOut = termSentAt != nil
        if sig == 0 {
            return Exit(status: (status >> 8) & 0xff, signal: nil, timedOut: timedOut, duration: ContinuousClock.now - started)
        }
        return Exit(status: nil, signal: signalName(sig), timedOut: timedOut, duration: ContinuousClock.now - started)
    }

    private static let spawnLock = Mutex(())

    private static func makePipe(_ fds: inout [Int32]) throws {
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }

    /// Starts `argv` with stdin from /dev/null, clean signal state; `newSession`: in a session of
    /// its own (no terminal, no signals from ours), for a background process.
    /// `closeOthers`: no descriptor beyond 0-2 is inherited, close-on-exec or not (a daemon must
    /// not hold its starter's pipes open).
    package static func spawn(
        _ argv: [String], environment: [String: String], stdout: Int32, stderr: Int32,
        newSession: Bool = false, closeOthers: Bool = false
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if closeOthers {
            // glibc 2.34's posix_spawn_file_actions_addclosefrom_np, not imported into Swift.
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            guard let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
                throw SpawnError(
                    description: "cannot run \(argv[0]): this C library cannot close inherited descriptors (glibc 2.34 or later needed)")
            }
            _ = unsafeBitCast(sym, to: CloseFrom.self)(&actions, 3)
        }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU] {
            sigaddset(&defaults, s)
        }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc 2.26), not imported into Swift
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newSession ? setsid : 0)))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else {
            throw SpawnError(description: "cannot run \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    static func signalName(_ n: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGABRT: "ABRT",
            SIGFPE: "FPE", SIGKILL: "KILL", SIGSEGV: "SEGV", SIGPIPE: "PIPE", SIGALRM: "ALRM",
            SIGTERM: "TERM", SIGUSR1: "USR1", SIGUSR2: "USR2", SIGBUS: "BUS",
        ]
        return names[n] ?? "\(n)"
    }

    /// The first executable called `name` on `path` (a PATH value).
    public static func find(_ name: String, path: String?) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !dir.isEmpty {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}
