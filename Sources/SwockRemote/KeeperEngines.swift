import EngineAPI
import Foundation
import SwockRuntime
import SwockStore
import SwockSupport
import Synchronization

/// The Engine API connections the keeper keeps open for `ls` (the `ping` op): a listing of
/// many machines then costs each daemon one request on a connection already verified, not a
/// TLS handshake. Per machine, the idle connections opened under its record's endpoint and the
/// identity of its TLS files: a changed record or rewritten files (regenerate-certs) retire
/// them, as does `drop` (rm, regenerate-certs, import). A kept connection the daemon closed
/// meanwhile (a restart) is replaced once, within the same deadline. Machines behind jump hosts
/// are not served here (the client asks them through their forward).
final class KeeperEngines: Sendable {
    private struct Kept {
        var identity: String
        var idle: [KeptEngineConnection]
    }
    private let kept = Mutex<[String: Kept]>([:])
    /// Records read for `ping`, by the stamp of their file when read (`stamp`): a listing asks
    /// the same machines every time, and the store replaces a record's file to change it.
    private let records = Mutex<[String: (stamp: String, config: MachineConfig)]>([:])
    /// Concurrent `ls` runs may each need one connection to a machine; more are not kept.
    static let maxIdlePerMachine = 2
    /// Daemons asked at once (each on a thread of its own: the calls block).
    static let maxThreads = 32

    /// Each served machine's answer, all asked at once within `timeout`; machines it does not
    /// serve (no record, behind jump hosts) are left out.
    func ping(_ machines: [String], store: Store, timeout: Duration) -> [KeeperPing] {
        let deadline = ContinuousClock.now + timeout
        let work = Work(count: machines.count)
        let group = DispatchGroup()
        for _ in 0..<min(machines.count, Self.maxThreads) {
            group.enter()
            let thread = Thread { [self] in
                while let i = work.take() {
                    let answer = ping(machines[i], store: store, deadline: deadline)
                    work.results.withLock { $0[i] = answer }
                }
                group.leave()
            }
            thread.name = "keeper-ping"
            thread.start()
        }
        group.wait()
        return work.results.withLock { $0.compactMap { $0 } }
    }

    /// Shared by the threads of one `ping`: the next machine to ask, and the answers.
    private final class Work: Sendable {
        let next = Mutex(0)
        let count: Int
        let results: Mutex<[KeeperPing?]>
        init(count: Int) {
            self.count = count
            results = Mutex(Array(repeating: nil, count: count))
        }
        func take() -> Int? {
            next.withLock { n in
                guard n < count else { return nil }
                defer { n += 1 }
                return n
            }
        }
    }

    private func ping(_ machine: String, store: Store, deadline: ContinuousClock.Instant) -> KeeperPing? {
        guard let config = record(machine, store: store), !config.isBehindJumpHosts else { return nil }
        let endpoint = store.daemonEndpoint(config)
        let identity = Self.identity(endpoint)
        func left() -> Duration { max(deadline - .now, .milliseconds(1)) }
        if let held = take(machine, identity: identity) {
            if let answer = try? held.ping(timeout: left()) {
                giveBack(held, machine: machine, identity: identity)
                return KeeperPing(machine: machine, ping: answer)
            }
            // The daemon closed it meanwhile (restarted, or gone): a new connection says which.
        }
        do {
            let conn = try KeptEngineConnection.open(endpoint, timeout: left())
            let answer = try conn.ping(timeout: left())
            giveBack(conn, machine: machine, identity: identity)
            return KeeperPing(machine: machine, ping: answer)
        } catch {
            // As `ls` asks directly: a daemon that cannot be reached, on a host whose SSH answers,
            // is a stopped engine.
            var sshAnswers: Bool?
            switch error {
            case .connectionRefused, .timedOut, .unreachable, .connectionClosed, .network:
                let ms = Int32(clamping: Int64((deadline - .now).timeInterval * 1000))
                if config.hasSSH, ms > 50 {
                    sshAnswers = TCPProbe.openBlocking(host: config.address, port: config.ssh.port, timeoutMs: ms)
                }
            default: break
            }
            return KeeperPing(machine: machine, error: error, sshAnswers: sshAnswers)
        }
    }

    /// The machine's record, read again only when its file changed; nil: no readable record.
    private func record(_ machine: String, store: Store) -> MachineConfig? {
        guard let stamp = Self.stamp(store.configPath(machine)) else { return nil }
        if let known = records.withLock({ $0[machine] }), known.stamp == stamp { return known.config }
        guard let config = try? store.load(machine) else { return nil }
        records.withLock { $0[machine] = (stamp, config) }
        return config
    }

    private func take(_ machine: String, identity: String) -> KeptEngineConnection? {
        let (conn, stale) = kept.withLock { kept -> (KeptEngineConnection?, [KeptEngineConnection]) in
            guard let k = kept[machine] else { return (nil, []) }
            guard k.identity == identity else {
                kept[machine] = nil
                return (nil, k.idle)
            }
            return (kept[machine]?.idle.popLast(), [])
        }
        _ = consume stale  // a retired connection closes here (TLSConnection's deinit), outside the lock
        return conn
    }

    private func giveBack(_ conn: KeptEngineConnection, machine: String, identity: String) {
        guard conn.reusable else { return }
        kept.withLock { kept in
            var k = kept[machine] ?? Kept(identity: identity, idle: [])
            guard k.identity == identity, k.idle.count < Self.maxIdlePerMachine else { return }
            k.idle.append(conn)
            kept[machine] = k
        }
    }

    /// Closes the machine's kept connections.
    func drop(_ machine: String) {
        _ = kept.withLock { $0.removeValue(forKey: machine) }
        _ = records.withLock { $0.removeValue(forKey: machine) }
    }

    /// Closes every kept connection (the keeper ends).
    func dropAll() {
        kept.withLock { $0 = [:] }
    }

    /// The machines with a kept connection.
    var machines: [String] {
        kept.withLock { $0.filter { !$0.value.idle.isEmpty }.keys.sorted() }
    }

    /// What a kept connection was opened under: the endpoint, and each TLS file's device, inode,
    /// size and modification time (rewritten files are new inodes: the store writes atomically).
    static func identity(_ endpoint: EngineEndpoint) -> String {
        var parts = [endpoint.address, endpoint.verifiedName]
        for path in [endpoint.tls.caPath, endpoint.tls.certPath, endpoint.tls.keyPath] {
            parts.append(stamp(path) ?? "missing:\(path)")
        }
        return parts.joined(separator: "|")
    }

    /// A file's device, inode, size and modification time; nil when it cannot be stat'ed.
    static func stamp(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }
}
