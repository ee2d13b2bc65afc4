import Foundation
import Logging
import SSHKit
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSupport

/// Where a fleet command's output goes as it arrives. `output` is called from the thread that
/// reads the host (one at a time per host); `finished` once per host.
public protocol FleetSink: Sendable {
    func output(host: Int, stderr: Bool, _ data: Data)
    func finished(host: Int, _ outcome: HostOutcome)
}

/// Runs one shell command over SSH on many machines at once.
///
/// At most `parallelism` hosts are in flight, and at most `handshakes` of them are connecting
/// to any one sshd (sshd's MaxStartups drops handshakes beyond 10 by default): the machine's
/// own, or for machines behind jump hosts the first bastion's, which all of them connect
/// through. Handshakes to different servers do not wait for each other. `timeout` is each host's own
/// deadline, from the start of its connect to the end of its command; waiting for a handshake
/// slot does not count. Each session runs on its own thread (SSHKit), so the cooperative pool is
/// never blocked and the hosts really run at the same time. A host that cannot be reached is
/// reported as such, never fatal to the others.
public struct FleetExec: Sendable {
    public struct Options: Sendable {
        public var parallelism: Int
        public var handshakes: Int
        public var timeout: Duration?
        public var failFast: Bool
        /// Keep each host's output in its outcome (for `--format json`).
        public var collect: Bool
        public var connectTimeout: Duration
        /// The connection keeper to run the commands through (nil: direct connections).
        public var keeper: KeeperClient?

        public init(
            parallelism: Int = 32, handshakes: Int = 10, timeout: Duration? = nil, failFast: Bool = false,
            collect: Bool = false, connectTimeout: Duration = .seconds(10), keeper: KeeperClient? = nil
        ) {
            self.parallelism = parallelism
            self.handshakes = handshakes
            self.timeout = timeout
            self.failFast = failFast
            self.collect = collect
            self.connectTimeout = connectTimeout
            self.keeper = keeper
        }
    }

    public let store: Store
    public let options: Options
    public let logger: Logger

    public init(store: Store, options: Options, logger: Logger = Logger(label: "swock.exec")) {
        self.store = store
        self.options = options
        self.logger = logger
    }

    /// Runs `command` on every machine; outcomes in the order of `machines`.
    public func run(_ command: String, on machines: [SelectedMachine], sink: any FleetSink) async -> [HostOutcome] {
        let gates = AsyncGates(options.handshakes)
        let scheduler = FanOut(parallelism: options.parallelism, failFast: options.failFast)
        return await scheduler.run(
            machines.map(\.name),
            job: { i in
                await self.host(i, machines[i], command: command, gates: gates, sink: sink)
            }, finished: { i, outcome in sink.finished(host: i, outcome) })
    }

    func host(_ index: Int, _ machine: SelectedMachine, command: String, gates: AsyncGates, sink: any FleetSink) async -> HostOutcome {
        let name = machine.name
        let config: MachineConfig
        switch machine.record {
        case .success(let c): config = c
        case .failure(let e): return HostOutcome(name: name, result: .unreachable, failure: e)
        }
        let clock = ContinuousClock()
        let gate = gates.gate(Self.firstServer(config))
        await gate.acquire()
        let start = clock.now
        let session: any RemoteHost
        do {
            session = try await connect(config, budget: options.timeout)
        } catch {
            gate.release()
            return HostOutcome(name: name, result: .unreachable, duration: clock.now - start, failure: error)
        }
        gate.release()

        let left = options.timeout.map { $0 - (clock.now - start) }
        if let left, let timeout = options.timeout, left <= .zero {
            return .timedOut(name, timeout: timeout, duration: clock.now - start)
        }
        let collect = options.collect
        let exec: @Sendable () async throws -> ExecResult = {
            try await session.exec(
                command, timeout: left, collect: collect,
                onStdout: { sink.output(host: index, stderr: false, $0) },
                onStderr: { sink.output(host: index, stderr: true, $0) })
        }
        do {
            // The command's own deadline stops it; this is the backstop for a session stuck in libssh.
            let r: ExecResult
            if let left {
                r = try await withDeadline(
                    left + .seconds(2), timeoutError: SSHError.commandTimedOut(host: config.address, seconds: left.timeInterval), exec)
            } else {
                r = try await exec()
            }
            await session.close()
            return .finished(
                name: name, exitStatus: r.exitStatus, signal: r.signal, stdout: collect ? r.stdout : nil,
                stderr: collect ? r.stderr : nil, duration: clock.now - start)
        } catch SSHError.commandTimedOut {
            // Not closed here: the session thread may still be busy; it is released with the session.
            return .timedOut(name, timeout: options.timeout ?? .zero, duration: clock.now - start)
        } catch {
            return HostOutcome(name: name, result: .failed, duration: clock.now - start, failure: error)
        }
    }

    /// The sshd a connection to `config` starts with: the first jump host's, else its own.
    static func firstServer(_ config: MachineConfig) -> String {
        if let hop = config.ssh.proxyJump?.first { return "\(hop.host):\(hop.port)" }
        return "\(config.address):\(config.ssh.port)"
    }

    func connect(_ config: MachineConfig, budget: Duration?) async throws -> any RemoteHost {
        try await MachineSSH(store: store, connectTimeout: options.connectTimeout, logger: logger)
            .commandHost(config, budget: budget, keeper: options.keeper)
    }
}
