import Foundation
import Glibc
import Logging
import SSHKit
import SwockSupport

/// A local TCP port on 127.0.0.1 whose connections are carried over SSH to a machine's Engine
/// API: each accepted connection becomes a direct-tcpip channel from the last jump host to the
/// daemon's own ADDRESS:PORT. It only carries bytes: mutual TLS stays end to end, so a local user
/// without the client key gets nothing from it. Our client verifies the daemon as ADDRESS
/// (`EngineEndpoint.verifyName`); the docker CLI, which can only check 127.0.0.1, trusts the
/// machine's own certificate alone (`Store.dockerCertPath`).
public final class EngineTunnel: Sendable {
    public let localPort: Int
    private let listenFD: Int32
    private let host: String
    private let port: Int
    private let sessions: SessionSource
    private let logger: Logger
    private let keeper: KeeperRoute?

    /// Listens on 127.0.0.1:`listenPort` (0: any free port). `session` is used first; when it is
    /// lost, `reconnect` (if given) makes the next one. With `keeper`, connections go through the
    /// connection keeper's session while it serves, and through `session`/`reconnect` after.
    public init(
        session: SSHSession?, reconnect: (@Sendable () async throws -> SSHSession)?, to host: String, port: Int,
        listenPort: Int = 0, logger: Logger = Logger(label: "swock.tunnel"), keeper: KeeperRoute? = nil
    ) throws {
        let (fd, bound) = try Self.listen(port: listenPort)
        self.listenFD = fd
        self.localPort = bound
        self.host = host
        self.port = port
        self.logger = logger
        self.keeper = keeper
        self.sessions = SessionSource(session: session, reconnect: reconnect)
        let t = Thread { [self] in acceptLoop() }
        t.name = "engine tunnel \(host)"
        t.start()
    }

    /// Stops accepting; connections already carried end with the session.
    public func close() {
        shutdown(listenFD, Int32(SHUT_RDWR))
    }

    /// A port nothing listens on now (for a record's `forwardPort`).
    public static func freeLocalPort() throws -> Int {
        let (fd, port) = try listen(port: 0)
        Glibc.close(fd)
        return port
    }

    public struct ListenError: Error, CustomStringConvertible {
        public var port: Int
        public var reason: String
        public var description: String {
            "cannot listen on 127.0.0.1:\(port) for the Engine API forward: \(reason)"
        }
    }

    private static func listen(port: Int) throws -> (Int32, Int) {
        // The port may come from a record on disk: out of range is an error, not a trap.
        guard let port16 = UInt16(exactly: port) else { throw ListenError(port: port, reason: "not a port number (0-65535)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(port: port, reason: LocalFileError.errnoText()) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(port16.bigEndian)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let why = LocalFileError.errnoText()
            Glibc.close(fd)
            throw ListenError(port: port, reason: why)
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, Int(UInt16(bigEndian: actual.sin_port)))
    }

    private func acceptLoop() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            Task { await self.carry(c) }
        }
        Glibc.close(listenFD)
    }

    /// One accepted connection: through the current session, or once more through a new one when
    /// the current one turns out to be gone (a failed forward closes its socket: a duplicate
    /// keeps the client's connection for the second try).
    private func carry(_ fd: Int32) async {
        if let keeper {
            do {
                if let s = try await OffPool.run("keeper-forward", { try keeper.connection() }) {
                    // Bytes only, both ways, on threads of their own until either end closes.
                    let t = Thread {
                        ByteRelay.relay(fd, s.fd)
                        s.close()
                        Glibc.close(fd)
                    }
                    t.name = "engine forward \(host)"
                    t.start()
                    return
                }
            } catch {
                // What the keeper met on the way (the daemon's port refused, a changed key): as a
                // forward of our own that failed.
                logger.debug("engine forward through the keeper failed", metadata: ["to": "\(host):\(port)", "error": "\(error)"])
                Glibc.close(fd)
                return
            }
        }
        let spare = sessions.canReconnect ? dup(fd) : -1
        do {
            try await sessions.current().forwardFromLastJump(to: host, port: port, bridging: fd)
            if spare >= 0 { Glibc.close(spare) }
        } catch {
            logger.debug("engine forward failed", metadata: ["to": "\(host):\(port)", "error": "\(error)"])
            guard spare >= 0 else { return }
            guard Self.meansSessionGone(error) else { Glibc.close(spare); return }
            await sessions.drop()
            do {
                try await sessions.current().forwardFromLastJump(to: host, port: port, bridging: spare)
            } catch {
                logger.debug("engine forward failed again", metadata: ["to": "\(host):\(port)", "error": "\(error)"])
            }
        }
    }

    static func meansSessionGone(_ e: Error) -> Bool {
        guard let e = e as? SSHError else { return false }
        switch e {
        case .disconnected, .connectionLost: return true
        default: return false
        }
    }

    /// The session forwards go through: made once, made again after it was lost.
    private actor SessionSource {
        private var session: SSHSession?
        private var connecting: Task<SSHSession, Error>?
        private let reconnect: (@Sendable () async throws -> SSHSession)?
        nonisolated let canReconnect: Bool

        init(session: SSHSession?, reconnect: (@Sendable () async throws -> SSHSession)?) {
            self.session = session
            self.reconnect = reconnect
            self.canReconnect = reconnect != nil
        }

        func current() async throws -> SSHSession {
            if let session { return session }
            guard let reconnect else { throw SSHError.disconnected(host: "the jump host") }
            if let connecting { return try await connecting.value }
            let t = Task { try await reconnect() }
            connecting = t
            defer { connecting = nil }
            let s = try await t.value
            session = s
            return s
        }

        func drop() { session = nil }
    }
}
