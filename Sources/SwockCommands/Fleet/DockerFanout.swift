import ArgumentParser
import Foundation
import SwockFleet
import SwockRuntime

struct DockerFanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docker",
        abstract: "Run the local docker CLI once per machine, with that machine's TLS environment: swock-machine docker --all -- ps",
        discussion: Help.discussion(
            """
            Each run gets DOCKER_HOST, DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH of its machine (DOCKER_CONTEXT is \
            dropped). Machines are selected as for exec; output and summary are the same. Exit status 0 when \
            every run succeeded, 2 when some did, 1 when none did.
            """,
            examples: [
                "swock-machine docker --all -- ps",
                "swock-machine docker 'web*' -- pull nginx:stable",
                "swock-machine docker --filter state=Running --format json -- info",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions
    @OptionGroup var selection: FleetSelection
    @OptionGroup var fleet: FleetRunOptions

    /// docker's arguments, after --.
    var arguments: [String] { selection.trailing }

    func run() async throws {
        var status = ErrorReport.Status.success
        try await reportingErrors {
            try keeper.routeEngine(global)
            guard !arguments.isEmpty else {
                throw UsageError("no docker arguments given: swock-machine docker SELECTOR... -- ARGS...")
            }
            let base = ProcessInfo.processInfo.environment
            guard let docker = LocalProcess.find("docker", path: base["PATH"]) else {
                throw UserFacingError("the docker CLI is not on PATH; install it (Debian: docker.io)")
            }
            let store = global.store
            let machines = try await selection.resolve(store)
            let printer = FleetPrinter(names: machines.map(\.name), format: fleet.format)
            let outcomes = try await FanOutDisplay.run(names: machines.map(\.name), mode: fleet.progressOptions.progress, step: "docker") {
                await DockerFleetRun(
                    store: store, parallelism: fleet.parallel, failFast: fleet.failFast,
                    timeout: fleet.timeoutDuration, collect: fleet.format == .json
                )
                .run([docker] + arguments, on: machines, base: base, sink: printer)
            }
            printer.summary(outcomes)
            status = ErrorReport.fleetStatus(outcomes)
        }
        if status != ErrorReport.Status.success { throw ExitCode(status) }
    }
}
