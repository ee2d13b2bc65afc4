import ArgumentParser
import Foundation
import SwockCore

struct DockerFanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docker",
        abstract: "Run the local docker CLI once per machine, with that machine's TLS environment: swock-machine docker --all -- ps",
        discussion: Help.discussion(
            """
            Each run gets DOCKER_HOST, DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH of its machine (DOCKER_CONTEXT is \
            dropped). Machines are selected as for exec; output and summary are the same. Exit status 0 only if \
            every run succeeded.
            """,
            examples: [
                "swock-machine docker --all -- ps",
                "swock-machine docker 'web*' -- pull nginx:stable",
                "swock-machine docker --filter state=Running --format json -- info",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: FleetSelection
    @OptionGroup var fleet: FleetRunOptions

    /// docker's arguments, after --.
    var arguments: [String] { selection.trailing }

    /// What `env` would export for `config`, on top of `base` (with any docker target removed).
    static func environment(for config: MachineConfig, store: Store, base: [String: String]) -> [String: String] {
        var env = base
        for k in ["DOCKER_CONTEXT", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"] {
            env.removeValue(forKey: k)
        }
        env["DOCKER_HOST"] = config.engineURL
        env["DOCKER_TLS_VERIFY"] = "1"
        env["DOCKER_CERT_PATH"] = store.machineDir(config.name)
        env["DOCKER_MACHINE_NAME"] = config.name
        return env
    }

    func run() async throws {
        var allOK = false
        try await reportingErrors {
            guard !arguments.isEmpty else {
                throw UserFacingError("no docker arguments given: swock-machine docker SELECTOR... -- ARGS...")
            }
            let base = ProcessInfo.processInfo.environment
            guard let docker = LocalProcess.find("docker", path: base["PATH"]) else {
                throw UserFacingError("the docker CLI is not on PATH; install it (Debian: docker.io)")
            }
            let store = global.store
            let machines = try await selection.resolve(store)
            let printer = FleetPrinter(names: machines.map(\.name), format: fleet.format)
            let argv = [docker] + arguments
            let timeout = fleet.timeoutDuration
            let collect = fleet.format == .json
            let outcomes = await FleetScheduler(parallelism: fleet.parallel, failFast: fleet.failFast).run(
                machines.map(\.name),
                job: { i in
                    await Self.one(i, machines[i], argv: argv, store: store, base: base, timeout: timeout, collect: collect, sink: printer)
                },
                finished: { i, outcome in printer.finished(host: i, outcome) })
            printer.summary(outcomes)
            allOK = FleetSummary.allOK(outcomes)
        }
        if !allOK { throw ExitCode(1) }
    }

    static func one(_ index: Int, _ machine: SelectedMachine, argv: [String], store: Store, base: [String: String],
                    timeout: Duration?, collect: Bool, sink: FleetPrinter) async -> HostOutcome {
        let name = machine.name
        let config: MachineConfig
        switch machine.record {
        case .success(let c): config = c
        case .failure(let e): return HostOutcome(name: name, result: .unreachable, error: "\(e)")
        }
        if let problem = OfflineCheck.problems(config, store: store).first {
            return HostOutcome(name: name, result: .unreachable, error: problem)
        }
        let out = Collected(), err = Collected()
        do {
            let exit = try await LocalProcess.run(
                argv, environment: environment(for: config, store: store, base: base), timeout: timeout,
                onStdout: { d in if collect { out.append(d) }; sink.output(host: index, stderr: false, d) },
                onStderr: { d in if collect { err.append(d) }; sink.output(host: index, stderr: true, d) })
            var o = HostOutcome.finished(name: name, exitStatus: exit.status, signal: exit.signal,
                                         stdout: collect ? out.data : nil, stderr: collect ? err.data : nil, duration: exit.duration)
            if exit.timedOut {
                o.result = .failed
                o.error = "timed out after \(FleetExec.seconds(timeout ?? .zero)) (--timeout)"
            }
            return o
        } catch {
            return HostOutcome(name: name, result: .failed, error: "\(error)")
        }
    }
}

/// Output kept for --format json, appended from a reader thread.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    func append(_ d: Data) { lock.lock(); buffer.append(d); lock.unlock() }
    var data: Data { lock.lock(); defer { lock.unlock() }; return buffer }
}
