import CLibSSH
import Foundation
import SwockSupport

/// What a remote command left behind.
public struct ExecResult: Sendable, Equatable {
    /// The exit status, or nil when the process was killed by a signal (see `signal`).
    public var exitStatus: Int32?
    /// The signal name without "SIG" ("KILL", "TERM") when the process was killed by one.
    public var signal: String?
    public var stdout: Data
    public var stderr: Data
    public var duration: Duration

    public init(exitStatus: Int32?, signal: String? = nil, stdout: Data = Data(), stderr: Data = Data(), duration: Duration = .zero) {
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration
    }

    public var succeeded: Bool { exitStatus == 0 && signal == nil }

    /// stdout when the command succeeded, else `commandFailed` carrying stderr (or stdout).
    public func stdoutOrThrow(host: String, command: String) throws -> String {
        guard succeeded else {
            throw SSHError.commandFailed(
                host: host, command: command, exitStatus: exitStatus, signal: signal,
                stderr: stderrText.isEmpty ? stdoutText : stderrText)
        }
        return stdoutText
    }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Where a remote command's standard input comes from.
public enum StdinSource: Sendable {
    case none
    case data(Data)
    /// Read from a local file descriptor until EOF (e.g. 0 to pass our own stdin through).
    case fileDescriptor(Int32)
    /// These bytes first, then the file descriptor (sudo's password before the user's stdin).
    case prefixed(Data, fileDescriptor: Int32)

    var descriptor: Int32? {
        switch self {
        case .fileDescriptor(let f), .prefixed(_, let f): return f
        case .none, .data: return nil
        }
    }
}

public typealias OutputHandler = @Sendable (Data) -> Void

extension SSHSession {
    /// Runs `command` through the login shell of the remote user.
    ///
    /// Output is streamed to the handlers as it arrives and, when `collect` is true, also kept in
    /// the result. stdout and stderr are always drained to EOF before the exit status is read, so
    /// large outputs never lose it. `timeout` is the command's own deadline (not the session's I/O
    /// timeout): when it passes the remote process is sent SIGKILL and `commandTimedOut` is thrown.
    public func exec(
        _ command: String,
        stdin: StdinSource = .none,
        timeout: Duration? = nil,
        collect: Bool = true,
        onStdout: OutputHandler? = nil,
        onStderr: OutputHandler? = nil
    ) async throws -> ExecResult {
        try await worker.run { [self] in
            try execBlocking(command, stdin: stdin, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
        }
    }

    /// Starts the server's `name` subsystem (as sshd's `Subsystem` line defines it: "sftp" runs
    /// its SFTP server, whichever it is) and streams it like `exec`; nothing is collected.
    public func subsystem(
        _ name: String, stdin: StdinSource, onStdout: OutputHandler? = nil, onStderr: OutputHandler? = nil
    ) async throws -> ExecResult {
        try await worker.run { [self] in
            try execBlocking(name, stdin: stdin, timeout: nil, collect: false, onStdout: onStdout, onStderr: onStderr, subsystem: true)
        }
    }

    /// Runs `command` and returns its stdout; a non-zero exit throws `commandFailed` with stderr.
    @discardableResult
    public func run(_ command: String, stdin: StdinSource = .none, timeout: Duration? = nil) async throws -> String {
        try await exec(command, stdin: stdin, timeout: timeout).stdoutOrThrow(host: target.host, command: command)
    }

    // MARK: - On the session thread

    func execBlocking(
        _ command: String, stdin: StdinSource, timeout: Duration?, collect: Bool,
        onStdout: OutputHandler?, onStderr: OutputHandler?, subsystem: Bool = false
    ) throws -> ExecResult {
        let s = try liveSession()
        let started = ContinuousClock.now
        let deadline = timeout.map { started + $0 }
        guard let channel = ssh_channel_new(s) else { throw channelError(s) }
        defer { ssh_channel_free(channel) }
        guard ssh_channel_open_session(channel) == SSH_OK else { throw channelError(s) }
        let exit = ExitBox()
        let callbacks = ExitBox.install(on: channel, box: exit)
        defer {
            ssh_remove_channel_callbacks(channel, callbacks)
            callbacks.deallocate()
        }
        options.logger.debug("exec", metadata: ["host": "\(target.host)", "command": "\(SSHError.short(command))"])
        let requested = subsystem ? ssh_channel_request_subsystem(channel, command) : ssh_channel_request_exec(channel, command)
        guard requested == SSH_OK else {
            throw channelError(s, subsystem ? "the \(command) subsystem was refused" : "exec request refused")
        }

        var pump = StdinPump(source: stdin)
        var out = Data(), err = Data()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        let fd = ssh_get_fd(s)
        var lastHeard = ContinuousClock.now

        while true {
            if let d = deadline, ContinuousClock.now >= d {
                ssh_channel_request_send_signal(channel, "KILL")
                ssh_channel_close(channel)
                throw SSHError.commandTimedOut(host: target.host, seconds: timeout!.timeInterval)
            }
            var progressed = try pump.feed(channel)
            for stream: Int32 in [0, 1] {
                let n = ssh_channel_read_nonblocking(channel, buffer, 65536, stream)
                if n > 0 {
                    progressed = true
                    lastHeard = ContinuousClock.now
                    let chunk = Data(bytes: buffer, count: Int(n))
                    if stream == 0 {
                        if collect { out.append(chunk) }
                        onStdout?(chunk)
                    } else {
                        if collect { err.append(chunk) }
                        onStderr?(chunk)
                    }
                } else if n == SSH_ERROR {
                    if ssh_is_connected(s) == 0 {
                        throw SSHError.connectionLost(host: target.host, reason: lostReason(s, silentFor: ContinuousClock.now - lastHeard))
                    }
                    throw SSHError.channelFailed(host: target.host, reason: LibSSH.lastError(s))
                }
            }
            if !progressed {
                if ssh_channel_is_eof(channel) != 0 || ssh_channel_is_closed(channel) != 0 { break }
                if ssh_is_connected(s) == 0 {
                    throw SSHError.connectionLost(host: target.host, reason: lostReason(s, silentFor: ContinuousClock.now - lastHeard))
                }
                let waitMs = deadline.map { max(0, min(100, Int((($0 - ContinuousClock.now).timeInterval * 1000).rounded(.up)))) } ?? 100
                pollSocket(fd, stdinFD: pump.wantsRead ? pump.fd : nil, timeoutMs: Int32(waitMs))
            }
        }
        // Output is drained; now the status. A process killed by a signal sends exit-signal, not
        // exit-status, which the callback records; libssh waits for either or the channel close.
        if exit.status == nil && exit.signal == nil {
            if let d = deadline {
                let left = d - ContinuousClock.now
                if left <= .zero {
                    ssh_channel_close(channel)
                    throw SSHError.commandTimedOut(host: target.host, seconds: timeout!.timeInterval)
                }
                LibSSH.setTimeout(s, min(left, options.ioTimeout))
            }
            _ = ssh_channel_get_exit_status(channel)
            if deadline != nil { LibSSH.setTimeout(s, options.ioTimeout) }
        }
        if ssh_channel_is_closed(channel) == 0 {
            ssh_channel_send_eof(channel)
            ssh_channel_close(channel)
        }
        if exit.status == nil && exit.signal == nil {
            if ssh_is_connected(s) == 0 { throw SSHError.disconnected(host: target.host) }
            if let d = deadline, ContinuousClock.now >= d {
                throw SSHError.commandTimedOut(host: target.host, seconds: timeout!.timeInterval)
            }
        }
        return ExecResult(
            exitStatus: exit.signal == nil ? exit.status : nil, signal: exit.signal,
            stdout: out, stderr: err, duration: ContinuousClock.now - started)
    }

    /// A channel that could not be opened or started: a lost connection when the session's
    /// socket is what failed (sshd killed, host gone), else the channel refusal itself.
    func channelError(_ s: ssh_session, _ what: String? = nil) -> SSHError {
        let closed = ssh_get_status(s) & (SSH_CLOSED | SSH_CLOSED_ERROR) != 0
        if ssh_is_connected(s) == 0 || closed {
            return .connectionLost(host: target.host, reason: lostReason(s, silentFor: nil))
        }
        let message = LibSSH.lastError(s)
        return .channelFailed(host: target.host, reason: what.map { "\($0): \(message)" } ?? message)
    }

    /// Why the connection is gone: "no answer for 30 s" when nothing came for the dead-peer
    /// timeout (`silentFor`, measured by the caller), else libssh's own words.
    func lostReason(_ s: ssh_session, silentFor: Duration?) -> String {
        if let silentFor, silentFor >= options.deadPeerTimeout {
            return "no answer for \(SSHError.seconds(options.deadPeerTimeout.timeInterval))"
        }
        let m = LibSSH.lastError(s)
        return m.prefix(1).lowercased() + m.dropFirst()
    }

    private func pollSocket(_ fd: Int32, stdinFD: Int32?, timeoutMs: Int32) {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let sfd = stdinFD { fds.append(pollfd(fd: sfd, events: Int16(POLLIN), revents: 0)) }
        _ = poll(&fds, nfds_t(fds.count), timeoutMs)
    }
}

/// Collects exit-status and exit-signal from the channel callbacks.
final class ExitBox {
    var status: Int32?
    var signal: String?

    /// Installs the callbacks; the returned struct must outlive the channel's use of it.
    static func install(on channel: ssh_channel, box: ExitBox) -> UnsafeMutablePointer<ssh_channel_callbacks_struct> {
        let cb = UnsafeMutablePointer<ssh_channel_callbacks_struct>.allocate(capacity: 1)
        cb.initialize(to: ssh_channel_callbacks_struct())
        // ssh_callbacks_init is a macro: set the size ourselves.
        cb.pointee.size = MemoryLayout<ssh_channel_callbacks_struct>.size
        cb.pointee.userdata = Unmanaged.passUnretained(box).toOpaque()
        cb.pointee.channel_exit_status_function = { _, _, status, userdata in
            guard let userdata else { return }
            Unmanaged<ExitBox>.fromOpaque(userdata).takeUnretainedValue().status = status
        }
        cb.pointee.channel_exit_signal_function = { _, _, signal, _, _, _, userdata in
            guard let userdata else { return }
            let name = signal.map { String(cString: $0) } ?? "UNKNOWN"
            Unmanaged<ExitBox>.fromOpaque(userdata).takeUnretainedValue().signal = name
        }
        ssh_set_channel_callbacks(channel, cb)
        return cb
    }
}

/// Feeds a channel's stdin without ever blocking: it writes at most the remote window, so a
/// remote process that is busy writing output can never deadlock us.
struct StdinPump {
    private var pending = Data()
    private var offset = 0
    private(set) var fd: Int32?
    private var sourceDone: Bool
    private var eofSent = false

    init(source: StdinSource) {
        switch source {
        case .none:
            sourceDone = true
        case .data(let d):
            pending = d
            sourceDone = true
        case .fileDescriptor(let f):
            fd = f
            sourceDone = false
        case .prefixed(let d, let f):
            pending = d
            fd = f
            sourceDone = false
        }
    }

    /// True when we are waiting for more bytes from the local fd.
    var wantsRead: Bool { !sourceDone && offset >= pending.count }

    /// Returns true when anything was written or read.
    mutating func feed(_ channel: ssh_channel) throws -> Bool {
        if eofSent { return false }
        var progressed = false
        if wantsRead, let f = fd {
            var p = pollfd(fd: f, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) > 0 {
                var buf = [UInt8](repeating: 0, count: 32768)
                let n = read(f, &buf, buf.count)
                if n > 0 {
                    pending = Data(buf[0..<n]); offset = 0; progressed = true
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    sourceDone = true
                }
            }
        }
        if offset < pending.count {
            let window = Int(ssh_channel_window_size(channel))
            let n = min(window, pending.count - offset, 32768)
            if n > 0 {
                let written = pending.withUnsafeBytes { raw in
                    ssh_channel_write(channel, raw.baseAddress! + offset, UInt32(n))
                }
                if written == SSH_ERROR { eofSent = true; return progressed }
                offset += Int(written)
                progressed = true
            }
        }
        if sourceDone && offset >= pending.count {
            ssh_channel_send_eof(channel)
            eofSent = true
            progressed = true
        }
        return progressed
    }
}
