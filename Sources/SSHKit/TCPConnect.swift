import CLibSSH  // its headers carry <sys/socket.h> for this module: without it a release (whole-module) build cannot see SOCK_STREAM
import Foundation
import Glibc

/// The TCP connection under a direct SSH session, made here rather than inside libssh so that
/// where a connect failed is a value: before the TCP connection (refused, no route, no answer,
/// an unknown name) or after it, while sshd and we exchange banners and keys (sshd dropping
/// handshakes beyond its MaxStartups). Only the second kind is worth another try.
enum TCPConnect {
    enum Failure: Error, Equatable {
        case resolve(host: String, reason: String)
        /// `errno` of the last address tried.
        case connect(errno: Int32)
        case timedOut
    }

    /// A connected, blocking, close-on-exec, no-delay socket to `host:port`, trying each address in turn
    /// within `timeout` in all.
    static func open(host: String, port: Int, timeout: Duration) -> Result<Int32, Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(.resolve(host: host, reason: String(cString: gai_strerror(rc))))
        }
        defer { freeaddrinfo(first) }
        let deadline = ContinuousClock.now + timeout
        var lastErrno: Int32?
        var timedOut = false
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let a = next {
            next = a.pointee.ai_next
            let fd = socket(
                a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                a.pointee.ai_protocol)
            if fd < 0 { lastErrno = errno; continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return .success(blocking(fd)) }
            guard errno == EINPROGRESS else { lastErrno = errno; Glibc.close(fd); continue }
            var ready: Int32 = -1
            repeat {
                let left = max(0, Int32(((deadline - .now).timeInterval * 1000).rounded(.up)))
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                ready = poll(&p, 1, left)
            } while ready < 0 && errno == EINTR
            if ready == 0 { timedOut = true; Glibc.close(fd); continue }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            if ready < 0 { err = errno } else if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 { err = errno }
            if err == 0 { return .success(blocking(fd)) }
            lastErrno = err
            Glibc.close(fd)
        }
        if let e = lastErrno { return .failure(.connect(errno: e)) }
        return .failure(timedOut ? .timedOut : .connect(errno: ECONNREFUSED))
    }

    /// Blocking again, and without Nagle's algorithm: SSH sends small packets back to back (a
    /// channel open right after the last command's channel close), and with Nagle each such
    /// packet waited for the host's delayed ACK, 40 ms on Linux, before it left. OpenSSH and
    /// libssh's own connect turn it off for the same reason.
    private static func blocking(_ fd: Int32) -> Int32 {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }
}
