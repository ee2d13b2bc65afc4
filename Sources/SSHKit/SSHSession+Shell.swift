import CLibSSH
import Foundation
import SwockSupport

nonisolated(unsafe) private var windowChanged: sig_atomic_t = 0

/// An interactive shell on a PTY, wired to the local terminal.
extension SSHSession {
    /// Opens a PTY sized like the local terminal and runs the login shell (or `command` on the
    /// PTY), forwarding our stdin and stdout until the remote side ends. The local terminal is put
    /// in raw mode and always restored. Returns the remote exit status (128+n for a signal).
    public func interactiveShell(command: String? = nil) async throws -> Int32 {
        try await worker.run { [self] in try shellBlocking(command: command) }
    }

    private func shellBlocking(command: String?) throws -> Int32 {
        let s = try liveSession()
        guard let channel = ssh_channel_new(s) else { throw channelError(s) }
        defer { ssh_channel_free(channel) }
        guard ssh_channel_open_session(channel) == SSH_OK else { throw channelError(s) }
        let exit = ExitBox()
        let callbacks = ExitBox.install(on: channel, box: exit)
        defer { ssh_remove_channel_callbacks(channel, callbacks); callbacks.deallocate() }

        let isTTY = isatty(0) != 0
        var (cols, rows) = Self.terminalSize()
        let term = ProcessInfo.processInfo.environment["TERM"] ?? "xterm-256color"
        guard ssh_channel_request_pty_size(channel, term, cols, rows) == SSH_OK else {
            throw SSHError.channelFailed(host: target.host, reason: "PTY request refused: \(LibSSH.lastError(s))")
        }
        let started = command.map { ssh_channel_request_exec(channel, $0) } ?? ssh_channel_request_shell(channel)
        guard started == SSH_OK else {
            throw SSHError.channelFailed(host: target.host, reason: "shell request refused: \(LibSSH.lastError(s))")
        }

        var saved = termios()
        if isTTY {
            tcgetattr(0, &saved)
            var raw = saved
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
        }
        defer { if isTTY { tcsetattr(0, TCSANOW, &saved) } }
        let previous = signal(SIGWINCH) { _ in windowChanged = 1 }
        defer { signal(SIGWINCH, previous) }

        var pump = StdinPump(source: .fileDescriptor(0))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        let fd = ssh_get_fd(s)
        while true {
            if windowChanged != 0 {
                windowChanged = 0
                (cols, rows) = Self.terminalSize()
                ssh_channel_change_pty_size(channel, cols, rows)
            }
            var progressed = try pump.feed(channel)
            for stream: Int32 in [0, 1] {
                let n = ssh_channel_read_nonblocking(channel, buffer, 65536, stream)
                if n > 0 {
                    progressed = true
                    StandardStreams.write(stream == 0 ? 1 : 2, UnsafeRawBufferPointer(start: buffer, count: Int(n)))
                } else if n == SSH_ERROR {
                    throw SSHError.channelFailed(host: target.host, reason: LibSSH.lastError(s))
                }
            }
            if !progressed {
                if ssh_channel_is_eof(channel) != 0 || ssh_channel_is_closed(channel) != 0 { break }
                if ssh_is_connected(s) == 0 { throw SSHError.disconnected(host: target.host) }
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
                if pump.wantsRead { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
                _ = poll(&fds, nfds_t(fds.count), 100)
            }
        }
        if exit.status == nil && exit.signal == nil { _ = ssh_channel_get_exit_status(channel) }
        if ssh_channel_is_closed(channel) == 0 { ssh_channel_close(channel) }
        if let sig = exit.signal { return 128 + Self.signalNumber(sig) }
        return exit.status ?? 255
    }

    static func terminalSize() -> (Int32, Int32) {
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 {
            return (Int32(ws.ws_col), Int32(ws.ws_row))
        }
        return (80, 24)
    }

    public static func signalNumber(_ name: String) -> Int32 {
        let table: [String: Int32] = [
            "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
            "SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15, "USR1": 10, "USR2": 12,
        ]
        return table[name] ?? 1
    }
}
