import Foundation
import Glibc
import Logging
import SSHKit
import SwockStore
import SwockSupport
import Synchronization

// `forward`: the Engine API of a machine behind jump hosts, reached through a session the keeper
// holds instead of a new SSH connection per command. The request names the machine and its Engine
// API port (the keeper forwards to nothing else); the keeper leases a session of the machine
// (connecting, pinned, when none is held), opens a direct-tcpip channel from its last jump host
// to the daemon's ADDRESS:PORT, gives the session back (channels share it), and replies with an
// empty reply. From then on the client's connection carries the raw bytes both ways: the mutual
// TLS of the Engine API runs end to end over it, the keeper never sees plaintext, and the client
// verifies the daemon's certificate as it does on a forward of its own.

extension KeeperServer {
    /// Serves one `forward` request; returns when the forwarded connection has ended.
    func forward(_ req: KeeperRequest, socket: KeeperSocket) {
        guard let machine = req.machine, let port = req.port else {
            try? socket.send(.reply, json: KeeperReply.unavailable("forward: give a machine and a port"))
            return
        }
        let config: MachineConfig
        do {
            config = try store.load(machine)
        } catch {
            try? socket.send(.reply, json: KeeperReply.unavailable("\(error)"))
            return
        }
        guard config.isBehindJumpHosts, port == config.engine.port else {
            try? socket.send(.reply, json: KeeperReply.unavailable("forward: only the Engine API of a machine behind jump hosts"))
            return
        }
        let budget = req.budget.map { Duration.milliseconds(Int64($0 * 1000)) }
        let local: Int32
        do {
            local = try openForward(machine, to: config.address, port: port, budget: budget)
        } catch {
            try? socket.send(.reply, json: KeeperReply.failure(error))
            return
        }
        defer { Glibc.close(local) }
        guard (try? socket.send(.reply, json: KeeperReply())) != nil else { return }
        // This thread stays with the connection: the keeper counts it as a client while it lasts.
        ByteRelay.relay(socket.fd, local)
    }

    /// A channel from the machine's last jump host to `address:port`, bridged to one end of a
    /// socketpair; returns the other end. A held session found dead is replaced once.
    private func openForward(_ machine: String, to address: String, port: Int, budget: Duration?) throws -> Int32 {
        var attempt = 0
        while true {
            attempt += 1
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw KeeperError.notServed("socketpair: \(LocalFileError.errnoText())")
            }
            let lease: Lease
            do {
                lease = try blocking { try await self.lease(machine, budget: budget) }
            } catch {
                Glibc.close(pair[0])
                Glibc.close(pair[1])
                throw error
            }
            do {
                // The forwarder owns pair[0] from here on (it closes it when the channel fails).
                let bridged = pair[0]
                try blocking { try await lease.session.forwardFromLastJump(to: address, port: port, bridging: bridged) }
                giveBack(lease, broken: false)
                return pair[1]
            } catch {
                Glibc.close(pair[1])
                let gone = EngineTunnel.meansSessionGone(error)
                giveBack(lease, broken: gone)
                guard gone, attempt < 2 else { throw error }
                logger.debug("keeper: held connection is gone; reconnecting for a forward", metadata: ["machine": "\(machine)"])
            }
        }
    }
}

extension KeeperClient {
    /// A connection to `config`'s Engine API through the keeper's session (see `forward` above),
    /// ready to carry bytes; nil when the keeper cannot serve it (none can be started, it went
    /// away or gave no answer within `budget`, it cannot serve the machine): connect directly.
    /// Throws the SSH error the keeper met (a changed host key, refused auth, the daemon's port
    /// refused): a direct connection would meet the same. Blocks: call it off the pool.
    func forward(_ config: MachineConfig, budget: Duration?) throws -> KeeperSocket? {
        guard let s = socket() else { return nil }
        let reply: KeeperReply
        do {
            // A keeper that does not answer is not waited for beyond the budget (then direct).
            s.setReceiveTimeout((budget ?? .seconds(30)) + .seconds(1))
            reply = try s.ask(
                KeeperRequest(
                    op: .forward, machine: config.name, store: store.root, budget: budget?.timeInterval,
                    persist: persist.timeInterval, port: config.engine.port))
            s.setReceiveTimeout(.zero)
        } catch {
            s.close()
            markDead("\(error)")
            return nil
        }
        if let e = reply.error {
            s.close()
            throw e
        }
        if let why = reply.unavailable {
            s.close()
            logger.debug("keeper cannot forward for \(config.name): \(why)")
            return nil
        }
        return s
    }
}

/// The route of an `EngineTunnel` through the connection keeper: each connection accepted on the
/// local port becomes a keeper connection (`KeeperClient.forward`) for the machine. The first one
/// may be opened ahead (by `open`, which reports SSH errors as a direct connect would).
public final class KeeperRoute: Sendable {
    let client: KeeperClient
    let config: MachineConfig
    let budget: Duration?
    private let first: Mutex<KeeperSocket?>

    init(client: KeeperClient, config: MachineConfig, budget: Duration?, first: KeeperSocket?) {
        self.client = client
        self.config = config
        self.budget = budget
        self.first = Mutex(first)
    }

    /// A route through the keeper for `config`, its first connection opened (nil: connect
    /// directly). A daemon that refuses the forward still gets a route: its connections fail as
    /// through a forward of our own (the machine is stopped, not unreachable).
    public static func open(_ client: KeeperClient, _ config: MachineConfig, budget: Duration?, keepFirst: Bool = true) async throws
        -> KeeperRoute?
    {
        let first: KeeperSocket?
        do {
            guard let s = try await OffPool.run("keeper-forward", { try client.forward(config, budget: budget) }) else { return nil }
            first = s
        } catch SSHError.forwardFailed {
            first = nil
        }
        if !keepFirst { first?.close() }
        return KeeperRoute(client: client, config: config, budget: budget, first: keepFirst ? first : nil)
    }

    /// A keeper connection for one accepted connection; nil: go directly.
    func connection() throws -> KeeperSocket? {
        if let f = first.withLock({ f -> KeeperSocket? in
            defer { f = nil }
            return f
        }) {
            return f
        }
        return try client.forward(config, budget: budget)
    }
}

/// Copies bytes both ways between two connected sockets until both directions have ended: an
/// end-of-stream is passed on as a half close, an error ends both. One direction runs on a
/// thread of its own, the other on the caller's; returns when both are done.
enum ByteRelay {
    static func relay(_ a: Int32, _ b: Int32) {
        let done = DispatchSemaphore(value: 0)
        let t = Thread {
            pump(from: b, to: a)
            done.signal()
        }
        t.name = "byte relay"
        t.stackSize = 256 << 10
        t.start()
        pump(from: a, to: b)
        done.wait()
    }

    private static func pump(from src: Int32, to dst: Int32) {
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(src, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n == 0 {
                _ = shutdown(dst, Int32(SHUT_WR))
                return
            }
            if n < 0 {
                fail(src, dst)
                return
            }
            var off = 0
            while off < n {
                let w = buf.withUnsafeBytes { send(dst, $0.baseAddress! + off, n - off, Int32(MSG_NOSIGNAL)) }
                if w < 0 {
                    if errno == EINTR { continue }
                    fail(src, dst)
                    return
                }
                off += w
            }
        }
    }

    /// Ends both connections (wakes the other direction, blocked in `recv`).
    private static func fail(_ a: Int32, _ b: Int32) {
        _ = shutdown(a, Int32(SHUT_RDWR))
        _ = shutdown(b, Int32(SHUT_RDWR))
    }
}
