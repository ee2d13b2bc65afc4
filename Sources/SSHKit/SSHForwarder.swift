import CLibSSH
import Foundation
import Glibc
import SwockSupport
import Synchronization

/// A session to a jump host that carries connections onward: each one a direct-tcpip channel
/// (what `ssh -J` and `ssh -W` use) bridged to a local socket.
///
/// One thread owns the session and pumps every channel; `open` queues a request for it and wakes
/// it through a pipe. A bridged local socket is either the end of a fresh socketpair (the other
/// end goes to the caller: the next hop's session, `SSH_OPTIONS_FD`) or a socket the caller
/// accepted (a local port forward). Closing a local end closes its channel and the other way round.
///
/// `@unchecked Sendable`: it holds libssh's session (a C pointer), used only on its pump thread;
/// what `open` and `stop` share with that thread is behind a `Mutex`.
final class SSHForwarder: @unchecked Sendable {
    let hop: SSHTarget
    let fingerprint: String
    private let session: ssh_session
    /// Requests queued for the pump thread, and whether the forwarder is stopping.
    private let queue = Mutex<(requests: [Request], stopping: Bool)>(([], false))
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// Signalled when the pump thread has freed the session and ended.
    private let finished = DispatchSemaphore(value: 0)

    private struct Request: Sendable {
        let host: String
        let port: Int
        /// The local socket to bridge (owned by the forwarder from now on); nil: make a socketpair.
        let bridging: Int32?
        let done: @Sendable (Result<Int32, SSHError>) -> Void
    }

    /// Takes over `session` (connected and authenticated); it is used only on the pump thread.
    init(session: ssh_session, hop: SSHTarget, fingerprint: String) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw SSHError.channelFailed(host: hop.host, reason: "cannot make a wake-up pipe: \(LocalFileError.errnoText())")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.session = session
        self.hop = hop
        self.fingerprint = fingerprint
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
        let t = Thread { [self] in
            SSHWorkerThread.blockSIGPIPE()
            var pump = Pump(owner: self)
            pump.run()
        }
        t.name = "ssh jump \(hop.host)"
        t.stackSize = 1 << 20
        t.start()
    }

    /// A connection from the jump host to `host:port`. Without `bridging`, returns the local end of
    /// a new socketpair, which the caller owns; with it, bridges that socket and returns it.
    func open(host: String, port: Int, bridging: Int32? = nil) async throws -> Int32 {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Int32, Error>) in
            let request = Request(host: host, port: port, bridging: bridging) { cont.resume(with: $0.mapError { $0 as Error }) }
            let queued = queue.withLock { q in
                if q.stopping { return false }
                q.requests.append(request)
                return true
            }
            guard queued else {
                if let bridging { Glibc.close(bridging) }
                cont.resume(throwing: SSHError.disconnected(host: hop.host))
                return
            }
            wake()
        }
    }

    /// Ends every bridged connection and the session (the thread frees it).
    func stop() {
        queue.withLock { $0.stopping = true }
        wake()
    }

    /// `stop`, then waits (up to `timeout`) until the session is freed. A process that exits
    /// while a pump thread is still inside libssh's teardown crashes in OpenSSL, whose exit
    /// handlers have freed its locks: callers that close on purpose wait for it. Never call it
    /// from the cooperative pool (it blocks).
    func stopAndWait(timeout: Duration = .seconds(5)) {
        stop()
        // Signalled once: put it back, so a second wait (close, then deinit) returns at once.
        if finished.wait(timeout: .now() + timeout.timeInterval) == .success { finished.signal() }
    }

    private func wake() {
        var b: UInt8 = 1
        _ = Glibc.write(wakeWrite, &b, 1)
    }

    private func takeRequests() -> (requests: [Request], stopping: Bool) {
        queue.withLock { q in
            let r = q.requests
            q.requests = []
            return (r, q.stopping)
        }
    }

    /// The loop on the forwarder's thread. It holds the forwarder strongly: `stop()` (or the jump
    /// host going away) ends it, and only then is the session freed.
    private struct Pump {
        let owner: SSHForwarder
        var tunnels: [Tunnel] = []

        init(owner: SSHForwarder) { self.owner = owner }

        final class Tunnel {
            let channel: ssh_channel
            let fd: Int32
            var toLocal: [UInt8] = []
            var localEOF = false
            var remoteEOF = false
            var shutWrite = false
            var dead = false
            init(channel: ssh_channel, fd: Int32) { self.channel = channel; self.fd = fd }
        }

        mutating func run() {
            let s = owner.session
            var buffer = [UInt8](repeating: 0, count: 32 * 1024)
            var busy = false
            while true {
                let (requests, stopping) = owner.takeRequests()
                if stopping || ssh_is_connected(s) == 0 {
                    // From now on `open` refuses at once; what was queued meanwhile fails here.
                    owner.queue.withLock { $0.stopping = true }
                    for r in requests + owner.takeRequests().requests {
                        if let b = r.bridging { Glibc.close(b) }
                        r.done(.failure(.disconnected(host: owner.hop.host)))
                    }
                    break
                }
                for r in requests { open(r) }
                waitForWork(busy: busy)
                busy = false
                for t in tunnels { if pump(t, &buffer) { busy = true } }
                tunnels.removeAll { t in
                    guard
                        t.dead || (t.localEOF && t.remoteEOF && t.toLocal.isEmpty)
                            || (ssh_channel_is_closed(t.channel) != 0 && t.toLocal.isEmpty)
                    else { return false }
                    ssh_channel_close(t.channel)
                    ssh_channel_free(t.channel)
                    Glibc.close(t.fd)
                    return true
                }
            }
            for t in tunnels {
                ssh_channel_close(t.channel)
                ssh_channel_free(t.channel)
                Glibc.close(t.fd)
            }
            tunnels = []
            ssh_disconnect(s)
            ssh_free(s)
            Glibc.close(owner.wakeRead)
            Glibc.close(owner.wakeWrite)
            owner.finished.signal()
        }

        private mutating func open(_ r: Request) {
            let s = owner.session
            guard let ch = ssh_channel_new(s) else {
                if let b = r.bridging { Glibc.close(b) }
                r.done(.failure(.forwardFailed(via: owner.hop.host, to: "\(r.host):\(r.port)", reason: LibSSH.lastError(s))))
                return
            }
            guard ssh_channel_open_forward(ch, r.host, Int32(r.port), "127.0.0.1", 0) == SSH_OK else {
                let reason = LibSSH.lastError(s)
                ssh_channel_free(ch)
                if let b = r.bridging { Glibc.close(b) }
                r.done(.failure(.forwardFailed(via: owner.hop.host, to: "\(r.host):\(r.port)", reason: Self.cleanOpenError(reason))))
                return
            }
            let local: Int32
            let handedOut: Int32
            if let b = r.bridging {
                local = b
                handedOut = b
            } else {
                var pair: [Int32] = [-1, -1]
                guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                    ssh_channel_close(ch); ssh_channel_free(ch)
                    r.done(
                        .failure(
                            .forwardFailed(
                                via: owner.hop.host, to: "\(r.host):\(r.port)", reason: "socketpair: \(LocalFileError.errnoText())")))
                    return
                }
                local = pair[0]
                handedOut = pair[1]
            }
            let flags = fcntl(local, F_GETFL)
            _ = fcntl(local, F_SETFL, flags | O_NONBLOCK)
            tunnels.append(Tunnel(channel: ch, fd: local))
            r.done(.success(handedOut))
        }

        /// "Channel open failure: ... (Connection refused)" -> "connection refused".
        static func cleanOpenError(_ msg: String) -> String {
            var m = msg
            if let open = m.lastIndex(of: "("), m.hasSuffix(")") {
                m = String(m[m.index(after: open)..<m.index(before: m.endIndex)])
            }
            m = m.replacingOccurrences(of: "open failed", with: "").trimmingCharacters(in: .whitespaces)
            return m.isEmpty ? msg : m.prefix(1).lowercased() + m.dropFirst()
        }

        /// Sleeps until the jump host's socket, a local socket or the wake-up pipe has something,
        /// or a short while when data is already buffered inside libssh.
        private func waitForWork(busy: Bool) {
            var fds: [pollfd] = [
                pollfd(fd: owner.wakeRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: ssh_get_fd(owner.session), events: Int16(POLLIN), revents: 0),
            ]
            for t in tunnels {
                var ev: Int32 = 0
                if !t.localEOF && t.toLocal.count < 256 * 1024 { ev |= Int32(POLLIN) }
                if !t.toLocal.isEmpty { ev |= Int32(POLLOUT) }
                if ev != 0 { fds.append(pollfd(fd: t.fd, events: Int16(ev), revents: 0)) }
            }
            _ = poll(&fds, nfds_t(fds.count), busy ? 0 : 50)
            if fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while Glibc.read(owner.wakeRead, &drain, drain.count) > 0 {}
            }
        }

        /// Moves what can move without blocking (a channel write may wait for the peer's window).
        /// Returns whether anything moved.
        private func pump(_ t: Tunnel, _ buffer: inout [UInt8]) -> Bool {
            var moved = false
            // jump host -> local
            if !t.remoteEOF && t.toLocal.count < 256 * 1024 {
                let n = buffer.withUnsafeMutableBytes { ssh_channel_read_nonblocking(t.channel, $0.baseAddress, UInt32($0.count), 0) }
                if n > 0 {
                    t.toLocal.append(contentsOf: buffer[0..<Int(n)])
                    moved = true
                } else if n == SSH_ERROR {
                    t.dead = true
                    return true
                } else if ssh_channel_is_eof(t.channel) != 0 || ssh_channel_is_closed(t.channel) != 0 {
                    t.remoteEOF = true
                    moved = true
                }
            }
            if !t.toLocal.isEmpty {
                let n = t.toLocal.withUnsafeBytes { send(t.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    t.toLocal.removeFirst(n)
                    moved = true
                } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    t.dead = true
                    return true
                }
            }
            if t.remoteEOF && t.toLocal.isEmpty && !t.shutWrite {
                shutdown(t.fd, Int32(SHUT_WR))
                t.shutWrite = true
            }
            // local -> jump host
            if !t.localEOF {
                let n = buffer.withUnsafeMutableBytes { recv(t.fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    var off = 0
                    while off < n {
                        let w = buffer.withUnsafeBytes { ssh_channel_write(t.channel, $0.baseAddress! + off, UInt32(n - off)) }
                        if w <= 0 { t.dead = true; return true }
                        off += Int(w)
                    }
                    moved = true
                } else if n == 0 {
                    t.localEOF = true
                    if ssh_channel_is_open(t.channel) != 0 { ssh_channel_send_eof(t.channel) }
                    moved = true
                } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    t.dead = true
                    return true
                }
            }
            return moved
        }
    }
}
