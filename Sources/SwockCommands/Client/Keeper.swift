import ArgumentParser
import Foundation
import SwockRemote
import SwockStore
import SwockSupport

/// `--persist`: how long the connection keeper stays after the last command.
struct KeeperOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Keep SSH and Engine API connections open this long after the last command, for the next ones (default 60s, $SWOCK_PERSIST; 0: no keeper).",
            valueName: "time"))
    var persist: String?

    /// The keeper for this command's SSH, nil when turned off.
    func client(_ store: Store, _ global: GlobalOptions) throws -> KeeperClient? {
        KeeperClient.forCommands(store: store, persist: try KeeperPersist.resolve(flag: persist), logger: global.logger("swock.keeper"))
    }

    /// Sends the Engine API forwards of machines behind jump hosts through the keeper (directly when off).
    /// Returns that keeper's client (nil when off).
    @discardableResult
    func routeEngine(_ global: GlobalOptions) throws -> KeeperClient? {
        let keeper = try client(global.store, global)
        EngineRoute.useKeeper(keeper)
        return keeper
    }
}

struct Keeper: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keeper",
        abstract: "Show or stop the connection keeper, which holds SSH and Engine API connections between commands.",
        discussion: Help.discussion(
            """
            `exec`, `ssh NAME CMD`, `scp`, the engine lifecycle verbs, `provision` and \
            `regenerate-certs` start it on demand (like OpenSSH's ControlPersist), and so does `ls`, \
            whose daemons it asks over Engine API connections it keeps open (TLS verified once, \
            one request per daemon and listing): \
            one process per user and store, listening only on a unix socket of the user's \
            ($XDG_RUNTIME_DIR/swock-machine, else /tmp/swock-machine-UID; mode 0600), holding one \
            authenticated session per machine, host keys pinned as always. It ends after --persist \
            (default 60s, $SWOCK_PERSIST) without commands; `--persist 0` does without it. When it \
            is not running or fails, commands connect directly. The Engine API of a machine behind \
            jump hosts (`ls`, `status`, `version`, `docker`, `swarm`, `tunnel`) goes through its \
            session too, TLS end to end.
            """,
            examples: [
                "swock-machine keeper ls",
                "swock-machine keeper stop",
            ]),
        subcommands: [KeeperList.self, KeeperStop.self, KeeperServe.self])
}

struct KeeperList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the machines the keeper holds connections to.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            guard let r = try KeeperClient.list(store: global.store) else {
                Output.err("No connection keeper runs for \(global.store.root)")
                return
            }
            Output.err("Keeper pid \(r.pid.map(String.init) ?? "?"), ends after \(FleetTime.seconds(r.persist ?? 0)) without commands")
            if let engines = r.engines, !engines.isEmpty {
                Output.err("Engine API connections kept (for ls): \(engines.count) (\(Self.names(engines)))")
            }
            var rows = [["NAME", "TARGET", "HOST KEY", "CONNECTIONS", "IN USE", "IDLE"]]
            for h in r.held ?? [] {
                rows.append([h.machine, h.target, h.fingerprint, "\(h.connections)", "\(h.inUse)", FleetTime.seconds(h.idleSeconds)])
            }
            let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
            for row in rows {
                Output.out(
                    zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                        .joined(separator: "   ").trimmingCharacters(in: .whitespaces) + "\n")
            }
        }
    }
}

extension KeeperList {
    /// "a, b, c" for up to five names, then "and N more".
    static func names(_ all: [String]) -> String {
        all.count <= 5 ? all.joined(separator: ", ") : all.prefix(5).joined(separator: ", ") + " and \(all.count - 5) more"
    }
}

struct KeeperStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the keeper; its connections end.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            if let pid = try KeeperClient.stop(store: global.store) {
                Output.err("Stopped the connection keeper (pid \(pid))")
            } else {
                Output.err("No connection keeper runs for \(global.store.root)")
            }
        }
    }
}

struct KeeperServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the keeper (commands start it on their own).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    func run() async throws {
        try await reportingErrors {
            let persist = try KeeperPersist.resolve(flag: keeper.persist)
            guard persist > .zero else { return }
            let store = global.store
            let server = KeeperServer(
                store: store, place: KeeperPlace(storeRoot: store.root), persist: persist,
                logger: global.logger("swock.keeper"))
            try await OffPool.run("keeper") { try server.run() }
        }
    }
}

enum FleetTime {
    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s))s" : String(format: "%.1fs", s)
    }
}
