import ArgumentParser
import Foundation
import SwockClient
import SwockFleet
import SwockRuntime
import SwockSwarm

/// `swarm init|join|leave|ls`: Docker Engine's Swarm mode on machines of the store.
struct Swarm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm",
        abstract: "Turn machines into a Swarm mode cluster and drive it (Docker Engine's own Swarm API).",
        discussion: Help.discussion(
            "Every call goes to the machines' daemons over the store's mutual TLS; join tokens never appear on a command line.",
            examples: [
                "swock-machine swarm init web1",
                "swock-machine swarm join --manager web1 'web*'",
                "swock-machine swarm ls",
            ]),
        subcommands: [SwarmInit.self, SwarmJoin.self, SwarmLeave.self, SwarmList.self])

    /// One line per machine that finished, the errors after; exit 2 if some failed, 1 if all did.
    static func report(_ outcomes: [HostOutcome]) throws {
        guard let failure = FanOutFailure(outcomes) else { return }
        let lines = ErrorReport.lines(failure)
        if failure.total == 1 { throw UserFacingError(lines[0]) }
        for line in lines { Output.err("Error: \(line)") }
        throw ExitCode(ErrorReport.fleetStatus(outcomes))
    }
}

struct SwarmInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Start a swarm with this machine as its first manager.",
        discussion: Help.discussion(examples: [
            "swock-machine swarm init web1",
            "swock-machine swarm init --advertise-addr 10.231.1.10 web1",
        ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Option(
        name: .customLong("advertise-addr"),
        help: ArgumentHelp("Address the other nodes reach this manager at (default: the machine's address).", valueName: "addr"))
    var advertiseAddress: String?

    @Option(
        name: .customLong("default-addr-pool"), help: ArgumentHelp("Address pool for overlay networks (repeatable).", valueName: "cidr"))
    var addressPools: [String] = []

    @Argument(help: "The machine that becomes the manager.", completion: .machineNames)
    var manager: String

    func run() async throws {
        try await reportingErrors {
            try keeper.routeEngine(global)
            let id = try await SwarmControl(store: global.store).initialize(
                manager, advertiseAddress: advertiseAddress, defaultAddressPool: addressPools)
            Output.err(
                "(\(manager)) swarm started; node \(id) is its manager. Add nodes with: swock-machine swarm join --manager \(manager) NAME..."
            )
        }
    }
}

struct SwarmJoin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join machines to a manager's swarm, all at once.",
        discussion: Help.discussion(
            "The join token is read from the manager over TLS and handed to each machine's daemon the same way. Machines are selected as for exec.",
            examples: [
                "swock-machine swarm join --manager web1 web2 web3",
                "swock-machine swarm join --manager web1 --role manager 'mgr*'",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions
    @OptionGroup var selection: FleetSelection

    @Option(
        name: .customLong("manager"), help: ArgumentHelp("A manager of the swarm to join.", valueName: "name"), completion: .machineNames)
    var manager: String

    @Option(name: .customLong("role"), help: "worker or manager.")
    var role: SwarmRole = .worker

    @OptionGroup var progressOptions: ProgressOptions

    func run() async throws {
        try await reportingErrors {
            try keeper.routeEngine(global)
            let store = global.store
            let names = try await selection.resolve(store).map(\.name).filter { $0 != manager }
            let outcomes = try await FanOutDisplay.run(names: names.count > 1 ? names : [], mode: progressOptions.progress, step: "join") {
                try await SwarmControl(store: store).join(names, manager: manager, asManager: role == .manager) { o in
                    if let d = o.detail { Output.err("(\(o.name)) \(d)") }
                }
            }
            try Swarm.report(outcomes)
        }
    }
}

enum SwarmRole: String, CaseIterable, ExpressibleByArgument {
    case worker, manager
}

struct SwarmLeave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave",
        abstract: "Take machines out of their swarm: drained, then gone from the node list.",
        discussion: Help.discussion(
            "A manager is demoted first while other managers remain; the last manager leaves only with --force, which ends the swarm.",
            examples: [
                "swock-machine swarm leave web3",
                "swock-machine swarm leave --force web1",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions
    @OptionGroup var selection: FleetSelection

    @Flag(name: .customLong("force"), help: "Let the last manager leave (the swarm ends).")
    var force = false

    func run() async throws {
        try await reportingErrors {
            try keeper.routeEngine(global)
            let store = global.store
            let names = try await selection.resolve(store).map(\.name)
            let outcomes = await SwarmControl(store: store).leave(names, force: force) { o in
                if let d = o.detail { Output.err("(\(o.name)) \(d)") }
            }
            try Swarm.report(outcomes)
        }
    }
}

struct SwarmList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "Each machine's place in a swarm: role, node state, status and availability, manager reachability.",
        discussion: Help.discussion(examples: [
            "swock-machine swarm ls",
            "swock-machine swarm ls 'web*'",
        ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Argument(help: "Machine names or globs (default: every machine).", completion: .machineNames)
    var patterns: [String] = []

    func run() async throws {
        try await reportingErrors {
            try keeper.routeEngine(global)
            let store = global.store
            let names = try await MachineSelector(patterns: patterns, all: patterns.isEmpty).resolve(in: store).map(\.name)
            let members = await SwarmControl(store: store, timeout: .seconds(5)).members(names)
            let rows =
                [["NAME", "ROLE", "STATE", "STATUS", "AVAILABILITY", "MANAGER"]]
                + members.map { [$0.name, $0.role, $0.state, $0.status, $0.availability, $0.managerStatus] }
            Output.out(TableLayout.render(rows))
        }
    }
}
