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
    /// New connections opened at once (each on a thread of its own: a handshake blocks).
    static let maxThreads = 32

    /// What one `ping` asks one machine: its record, the endpoint and the identity of its files.
    private struct Target: Sendable {
        var machine: String
        var config: MachineConfig
        var endpoint: EngineEndpoint
        var identity: String
    }

    /// Each served machine's answer, all asked at once within `timeout`; machines it does not
    /// serve (no record, behind jump hosts) are left out. The daemons this keeper holds a
    /// connection to are asked from this thread, all requests written and then the answers read
    /// as they come; the others get new connections, on threads (a kept connection the daemon
    /// closed meanwhile too, as soon as that shows).
    func ping(_ machines: [String], store: Store, timeout: Duration) -> [KeeperPing] {
        let deadline = ContinuousClock.now + timeout
        var targets: [Target?] = []
        var held: [(index: Int, conn: KeptEngineConnection)] = []
        var fresh: [Int] = []
        for (i, machine) in machines.enumerated() {
            guard let config = record(machine, store: store), !config.isBehindJumpHosts else {
                targets.append(nil)
                continue
            }
            let endpoint = store.daemonEndpoint(config)
            let target = Target(machine: machine, config: config, endpoint: endpoint, identity: Self.identity(endpoint))
            targets.append(target)
            if let conn = take(machine, identity: target.identity) {
                held.append((i, conn))
            } else {
                fresh.append(i)
            }
        }
        let results = Mutex<[KeeperPing?]>(Array(repeating: nil, count: machines.count))
        let group = DispatchGroup()
        let asked = targets
        func onThreads(_ indexes: [Int]) {
            let work = Work(indexes)
            for _ in 0..<min(indexes.count, Self.maxThreads) {
                group.enter()
                let thread = Thread { [self] in
                    while let i = work.take() {
                        guard let target = asked[i] else { continue }
                        let answer = pingAnew(target, deadline: deadline)
                        results.withLock { $0[i] = answer }
                    }
                    group.leave()
                }
                thread.name = "keeper-ping"
                thread.start()
            }
        }
        onThreads(fresh)
        KeptEngineConnection.pingAll(held.map(\.conn), timeout: timeout, deadline: deadline) { k, outcome in
            let (i, conn) = held[k]
            guard let target = asked[i] else { return }
            switch outcome {
            case .success(let answer):
                giveBack(conn, machine: target.machine, identity: target.identity)
                results.withLock { $0[i] = KeeperPing(machine: target.machine, ping: answer) }
            case .failure(.timedOut(let endpoint, let after, let during)):
                let error = EngineError.timedOut(endpoint, after: after, during: during)
                results.withLock { $0[i] = failed(target, error, deadline: deadline) }
            case .failure:
                // The daemon closed it meanwhile (restarted, or gone): a new connection says which.
                onThreads([i])
            }
        }
        group.wait()
        return results.withLock { $0.compactMap { $0 } }
    }

    /// The indexes the threads of one `ping` take, one at a time.
    private final class Work: Sendable {
        let indexes: [Int]
        let next = Mutex(0)
        init(_ indexes: [Int]) { self.indexes = indexes }
        func take() -> Int? {
            next.withLock { n in
                guard n < indexes.count else { return nil }
                defer { n += 1 }
                return indexes[n]
            }
        }
    }

    /// The machine's answer on a new connection, kept for the next `ping` when it is good.
    private func pingAnew(_ target: Target, deadline: ContinuousClock.Instant) -> KeeperPing {
        func left() -> Duration { max(deadline - .now, .milliseconds(1)) }
        do {
            let conn = try KeptEngineConnection.open(target.endpoint, timeout: left())
            let answer = try conn.ping(timeout: left())
            giveBack(conn, machine: target.machine, identity: target.identity)
            return KeeperPing(machine: target.machine, ping: answer)
        } catch {
            return failed(target, error, deadline: deadline)
        }
    }

    /// As `ls` asks directly: a daemon that cannot be reached, on a host whose SSH answers, is a
    /// stopped engine (SSH is tried with what is left of the deadline).
    private func failed(_ target: Target, _ error: EngineError, deadline: ContinuousClock.Instant) -> KeeperPing {
        var sshAnswers: Bool?
        switch error {
        case .connectionRefused, .timedOut, .unreachable, .connectionClosed, .network:
            let ms = Int32(clamping: Int64((deadline - .now).timeInterval * 1000))
            if target.config.hasSSH, ms > 50 {
                sshAnswers = TCPProbe.openBlocking(host: target.config.address, port: target.config.ssh.port, timeoutMs: ms)
            }
        default: break
        }
        return KeeperPing(machine: target.machine, error: error, sshAnswers: sshAnswers)
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
