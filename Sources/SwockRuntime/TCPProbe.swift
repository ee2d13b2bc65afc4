import Foundation
import SwockSupport

/// Does anything accept TCP connections at host:port within the timeout?
public enum TCPProbe {
    public static func isOpen(host: String, port: Int, timeout: Duration) async -> Bool {
        (try? await OffPool.run("tcp probe \(host)") { openBlocking(host: host, port: port, timeoutMs: Int32(timeout.timeInterval * 1000)) })
            ?? false
    }

    /// Does something listen on 127.0.0.1:`port` right now (a local connect answers at once)?
    public static func acceptsNow(port: Int) -> Bool {
        openBlocking(host: "127.0.0.1", port: port, timeoutMs: 500)
    }

    /// `isOpen` on the calling thread.
    public static func openBlocking(host: String, port: Int, timeoutMs: Int32) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else { return false }
        defer { freeaddrinfo(res) }
        let fd = socket(
            first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        return err == 0
    }
}
