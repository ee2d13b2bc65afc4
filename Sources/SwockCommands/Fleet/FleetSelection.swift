import ArgumentParser
import Foundation
import SwockFleet
import SwockStore

/// The machine selector of the fleet commands (names and globs, --all, --filter) and what to run
/// after `--`.
struct FleetSelection: ParsableArguments {
    /// ArgumentParser refuses a positional list after another positional list (even a
    /// post-terminator one), so both sides of `--` arrive here as one list; `split` separates them.
    @Argument(
        help: ArgumentHelp(
            "Machine names or globs ('web*', 'db?', '[ab]1'; quote them from the shell), then -- and what to run.", valueName: "selector"),
        completion: .machineNames)
    var words: [String] = []

    /// The selectors, and the words after `--` (found in the raw command line).
    func split(commandLine: [String] = CommandLine.arguments) throws -> (selectors: [String], trailing: [String]) {
        guard let dashes = commandLine.firstIndex(of: "--") else { return (words, []) }
        let trailing = Array(commandLine[(dashes + 1)...])
        guard words.count >= trailing.count, Array(words.suffix(trailing.count)) == trailing else {
            throw ValidationError("cannot tell the machines from the command; put the command after --")
        }
        return (Array(words.dropLast(trailing.count)), trailing)
    }

    func validate() throws { _ = try split() }

    var selectors: [String] { (try? split().selectors) ?? words }
    var trailing: [String] { (try? split().trailing) ?? [] }

    @Flag(name: .long, help: "Every machine of the store.")
    var all = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Filter as in ls: name=REGEXP, state=Running, label=k=v, driver=generic (repeatable; ANDed with the names).",
            valueName: "key=value"))
    var filter: [String] = []

    /// The selected machines in store order; a state filter probes the candidates first.
    func resolve(_ store: Store) async throws -> [SelectedMachine] {
        try await MachineSelector(patterns: selectors, all: all, filters: filter).resolve(in: store)
    }
}

/// The options both fleet commands take.
struct FleetRunOptions: ParsableArguments {
    @OptionGroup var progressOptions: ProgressOptions

    @Option(name: [.customShort("p"), .long], help: "How many machines to run on at once.")
    var parallel = 32

    @Option(name: .long, help: ArgumentHelp("Per-machine deadline in seconds (connect and command together).", valueName: "seconds"))
    var timeout: Double?

    @Option(name: .long, help: "text (lines prefixed with the machine name) or json (one object per machine as it finishes).")
    var format: FleetPrinter.Format = .text

    @Flag(name: .long, help: "Start no new machine after the first one that did not succeed.")
    var failFast = false

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("-p must be at least 1") }
        if let timeout { try SecondsOption.check(timeout, flag: "--timeout") }
    }

    var timeoutDuration: Duration? {
        timeout.map(SecondsOption.duration)
    }
}
