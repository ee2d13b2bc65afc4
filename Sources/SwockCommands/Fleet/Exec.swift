import ArgumentParser
import Foundation
import SSHKit
import SwockFleet
import SwockRuntime
import SwockSupport

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a shell command over SSH on many machines at once: swock-machine exec 'web*' -- uptime",
        discussion: Help.discussion(
            """
            Select machines by name or glob, --all, or --filter (as in ls; state= probes the machines first). \
            Output lines stream as they come, prefixed with the machine's name; --format json prints one object \
            per machine when it ends (name, result, exit, signal, stdout, stderr, duration_ms, error). \
            A summary goes to stderr: "12 ok, 1 failed, 2 unreachable" (failed: non-zero exit, signal or \
            timeout; unreachable: could not connect or authenticate). Exit status 0 when every machine succeeded, 2 when some did, 1 when none did.
            """,
            examples: [
                "swock-machine exec 'web*' -- uptime",
                "swock-machine exec --all --format json -- 'df -h /'",
                "swock-machine exec --filter label=env=prod -p 8 --timeout 30 -- uptime",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: FleetSelection
    @OptionGroup var fleet: FleetRunOptions
    @OptionGroup var keeper: KeeperOptions

    @Option(
        name: .long,
        help:
            "How many SSH handshakes may be in flight to one sshd at once (its MaxStartups is 10): a machine's own, or a bastion many machines are reached through."
    )
    var handshakes = 10

    /// After --: one argument is a shell command line, several are quoted word by word.
    var command: [String] { selection.trailing }

    func validate() throws {
        guard handshakes >= 1 else { throw ValidationError("--handshakes must be at least 1") }
    }

    func run() async throws {
        var status = ErrorReport.Status.success
        try await reportingErrors {
            guard !command.isEmpty else {
                throw UsageError("no command given: swock-machine exec SELECTOR... -- COMMAND")
            }
            let store = global.store
            let machines = try await selection.resolve(store)
            let line = command.count == 1 ? command[0] : ShellQuote.join(command)
            let printer = FleetPrinter(names: machines.map(\.name), format: fleet.format)
            let options = FleetExec.Options(
                parallelism: fleet.parallel, handshakes: handshakes, timeout: fleet.timeoutDuration,
                failFast: fleet.failFast, collect: fleet.format == .json,
                keeper: try keeper.client(store, global))
            let outcomes = try await FanOutDisplay.run(names: machines.map(\.name), mode: fleet.progressOptions.progress, step: "exec") {
                await FleetExec(store: store, options: options, logger: global.logger("swock.exec"))
                    .run(line, on: machines, sink: printer)
            }
            printer.summary(outcomes)
            status = ErrorReport.fleetStatus(outcomes)
        }
        if status != ErrorReport.Status.success { throw ExitCode(status) }
    }
}
