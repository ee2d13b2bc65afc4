import Foundation
import SwockClient
import SwockRemote
import SwockRuntime
import SwockStore
import Synchronization

/// `docker SELECTOR... -- ARGS`: the local docker CLI once per machine, each run with that
/// machine's environment (what `env` exports; DOCKER_CONTEXT dropped), through the fan-out.
public struct DockerFleetRun: Sendable {
    public let store: Store
    public var parallelism: Int
    public var failFast: Bool
    public var timeout: Duration?
    /// Keep each run's output in its outcome (for `--format json`).
    public var collect: Bool

    public init(store: Store, parallelism: Int, failFast: Bool, timeout: Duration?, collect: Bool) {
        self.store = store
        self.parallelism = parallelism
        self.failFast = failFast
        self.timeout = timeout
        self.collect = collect
    }

    /// What a run for `config` gets: `base` with any docker target removed, then the machine's
    /// (`host`: DOCKER_HOST when this process forwards the Engine API itself).
    public func environment(for config: MachineConfig, base: [String: String], host: String? = nil) -> [String: String] {
        var env = base
        for k in ["DOCKER_CONTEXT"] + Store.dockerEnvironmentKeys { env.removeValue(forKey: k) }
        for (k, v) in store.dockerEnvironment(config, host: host) { env[k] = v }
        return env
    }

    /// Runs `argv` (the docker binary first) against every machine; outcomes in their order.
    public func run(_ argv: [String], on machines: [SelectedMachine], base: [String: String], sink: any FleetSink) async -> [HostOutcome] {
        await FanOut(parallelism: parallelism, failFast: failFast).run(
            machines.map(\.name),
            job: { i in await self.one(i, machines[i], argv: argv, base: base, sink: sink) },
            finished: { i, outcome in sink.finished(host: i, outcome) })
    }

    func one(_ index: Int, _ machine: SelectedMachine, argv: [String], base: [String: String], sink: any FleetSink) async -> HostOutcome {
        let name = machine.name
        let config: MachineConfig
        switch machine.record {
        case .success(let c): config = c
        case .failure(let e): return HostOutcome(name: name, result: .unreachable, failure: e)
        }
        if let problem = OfflineCheck.problems(config, store: store).first {
            return HostOutcome(name: name, result: .unreachable, failure: problem)
        }
        let collect = self.collect
        let out = CollectedOutput(), err = CollectedOutput()
        do {
            // Behind jump hosts: through this process's own forward (no tunnel left behind).
            let host = config.isBehindJumpHosts ? try await EngineRoute.endpoint(config, store: store, budget: .seconds(15)).url : nil
            try store.refreshDockerCertPath(config)
            let exit = try await LocalProcess.run(
                argv, environment: environment(for: config, base: base, host: host), timeout: timeout,
                onStdout: { d in
                    if collect { out.append(d) }; sink.output(host: index, stderr: false, d)
                },
                onStderr: { d in
                    if collect { err.append(d) }; sink.output(host: index, stderr: true, d)
                })
            var o = HostOutcome.finished(
                name: name, exitStatus: exit.status, signal: exit.signal,
                stdout: collect ? out.data : nil, stderr: collect ? err.data : nil, duration: exit.duration)
            if exit.timedOut {
                o.result = .failed
                o.failure = HostFailure.timedOut(after: timeout ?? .zero)
                o.error = o.failure.map { "\($0)" }
            }
            return o
        } catch {
            return HostOutcome(name: name, result: .failed, failure: error)
        }
    }
}

/// Output kept for --format json, appended from a reader thread.
private final class CollectedOutput: Sendable {
    private let buffer = Mutex(Data())
    func append(_ d: Data) { buffer.withLock { $0.append(d) } }
    var data: Data { buffer.withLock { $0 } }
}
