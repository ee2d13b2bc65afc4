import ArgumentParser
import SwockEngine
import SwockRemote

/// What sets one engine lifecycle command apart from the others: its action (which is also its
/// command name) and its help (abstract, and the invocations under EXAMPLES).
protocol LifecycleVerb {
    static var action: EngineLifecycle.Action { get }
    static var abstract: String { get }
    static var examples: [String] { get }
}

/// `stop`, `start`, `restart`, `kill` and `upgrade`: one command, parameterised by its verb.
/// (Generic types cannot have static stored properties, so `configuration` is computed.)
struct LifecycleCommand<Verb: LifecycleVerb>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Verb.action.rawValue, abstract: Verb.abstract,
            discussion: Help.discussion(examples: Verb.examples))
    }

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Argument(help: "Machine names (default: the active machine); they are handled at once.", completion: .machineNames)
    var names: [String] = []

    func run() async throws {
        try await reportingErrors {
            try await LifecycleRunner.run(
                Verb.action, names: names, global: global, progress: progressOptions.progress,
                keeper: try keeper.client(global.store, global))
        }
    }
}

enum StopVerb: LifecycleVerb {
    static let action = EngineLifecycle.Action.stop
    static let abstract =
        "Stop the engine (service and socket) on machines; the host stays up. A host its driver made (a VM) is powered off."
    static let examples = ["swock-machine stop", "swock-machine stop web1 web2"]
}

enum StartVerb: LifecycleVerb {
    static let action = EngineLifecycle.Action.start
    static let abstract = "Start the engine (or power on a host its driver made) and wait until it answers over mutual TLS."
    static let examples = ["swock-machine start web1", "swock-machine start web1 web2"]
}

enum RestartVerb: LifecycleVerb {
    static let action = EngineLifecycle.Action.restart
    static let abstract = "Restart the engine on machines (running containers survive: live-restore); a host its driver made is rebooted."
    static let examples = ["swock-machine restart", "swock-machine restart web1 web2"]
}

enum KillVerb: LifecycleVerb {
    static let action = EngineLifecycle.Action.kill
    static let abstract =
        "Kill dockerd hard (SIGKILL) on machines; it stays down until start. A host its driver made is powered off at once."
    static let examples = ["swock-machine kill web1", "swock-machine kill web1 && swock-machine start web1"]
}

enum UpgradeVerb: LifecycleVerb {
    static let action = EngineLifecycle.Action.upgrade
    static let abstract = "Upgrade the engine the way it was installed, restart it, and record the new version."
    static let examples = ["swock-machine upgrade web1", "swock-machine upgrade web1 web2 db1"]
}

typealias Stop = LifecycleCommand<StopVerb>
typealias Start = LifecycleCommand<StartVerb>
typealias Restart = LifecycleCommand<RestartVerb>
typealias Kill = LifecycleCommand<KillVerb>
typealias Upgrade = LifecycleCommand<UpgradeVerb>
