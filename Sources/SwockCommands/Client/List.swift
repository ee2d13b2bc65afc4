import ArgumentParser
import Foundation
import SwockClient
import SwockEngine
import SwockProvision
import SwockStore

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List machines with their live state (all checked at once; -t bounds the whole listing).",
        discussion: Help.discussion(
            """
            Columns: NAME ACTIVE DRIVER STATE URL DOCKER ERRORS. STATE is Running (the engine answers over \
            mutual TLS), Stopped (SSH answers, the engine does not), Timeout or Error.
            --format takes table, json, or a template of fields: {{.Name}} {{.Active}} {{.DriverName}} \
            {{.State}} {{.URL}} {{.DockerVersion}} {{.Error}} {{.Address}} {{.SSHUser}} {{.Labels}} \
            {{.Labels.KEY}}, with pipelines and the functions json, prettyjson, upper, lower, title, \
            join, split, pad, truncate, println, index and len ({{.Name | upper}}, {{json .Labels}}); \
            prefix it with "table " for aligned columns (split on \\t) with a header. \
            A stored server certificate that covers another machine's address is named in a warning \
            on stderr, with the machine to run regenerate-certs for.
            """,
            examples: [
                "swock-machine ls",
                "swock-machine ls --filter state=Running --format '{{.Name}} {{.URL}}'",
                "swock-machine ls -q --filter label=env=prod",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Option(
        name: .long,
        help: ArgumentHelp("Filter: name=REGEXP, state=Running, label=k=v, driver=generic (repeatable).", valueName: "key=value"))
    var filter: [String] = []

    @Flag(name: [.customShort("q"), .long], help: "Print names only.")
    var quiet = false

    @Option(name: [.customShort("f"), .long], help: "table, json, or a template (see above).")
    var format: ListFormat?

    @Option(name: [.customShort("t"), .long], help: "Seconds to wait for the machines, all together.")
    var timeout: Double = 3

    func validate() throws {
        try SecondsOption.check(timeout, flag: "--timeout", allowZero: true)
    }

    func run() async throws {
        try await reportingErrors {
            // The keeper (started when none runs) asks the daemons over the connections it keeps.
            let keeperClient = try keeper.routeEngine(global)
            if global.debug { LogSetup.once(debug: true) }  // the Engine API's handshakes (full or resumed)
            let store = global.store
            // What commands killed half-way left behind goes first (best effort).
            store.sweepLeftovers()
            let filter = try MachineFilter(filter)
            let template: Template? = try format?.template.map { try Template($0) }
            let records = store.list()
            let active = activeName(store)
            var configs: [MachineConfig] = []
            var broken: [(String, StoreError)] = []
            for (name, r) in records {
                switch r {
                case .success(let c): configs.append(c)
                case .failure(let e): broken.append((name, e))
                }
            }
            // Stored certificates that cover another machine's address: read while the machines are asked.
            let allConfigs = configs
            let overlaps = Task { CertificateOverlap.findings(in: store, configs: allConfigs) }
            // Everything but state is decided offline; `ls -q` without a state filter needs no network.
            let preFiltered = configs.filter { filter.matches($0, state: nil) }
            if quiet && !filter.needsState {
                for c in preFiltered { Output.out(c.name + "\n") }
                await Self.warn(overlaps)
                return
            }
            let started = ContinuousClock.now
            let limit = SecondsOption.duration(max(timeout, 0.1))
            // Records that reach the same daemon with the same TLS files share one probe.
            var groups: [String: [MachineConfig]] = [:]
            for c in preFiltered { groups[Self.probeKey(c, store: store), default: []].append(c) }
            let viaKeeper = groups.values.map { $0[0] }.filter(Self.keeperAsks).map(\.name)
            let kept = await keeperClient?.pingEngines(viaKeeper, timeout: limit) ?? [:]
            let probed = await withTaskGroup(of: (String, MachineStatus).self) { group in
                for (key, members) in groups {
                    let c = members[0]
                    group.addTask {
                        (key, await MachineStatus.probe(c, store: store, timeout: limit, kept: kept[c.name], started: started))
                    }
                }
                var out: [String: MachineStatus] = [:]
                for await (k, s) in group { out[k] = s }
                return out
            }
            var statuses: [String: MachineStatus] = [:]
            for (key, members) in groups { for c in members { statuses[c.name] = probed[key] } }
            // A machine whose create or provision did not finish says so, whatever its daemon answers.
            for c in preFiltered where c.provisioning.phase != .ready {
                statuses[c.name]?.error = Self.unfinished(c)
            }
            // A failed provision script: the machine works, but is not what was asked for.
            for c in preFiltered where c.provisioning.phase == .ready {
                if let failed = ProvisionScriptFailed(c) {
                    statuses[c.name]?.error = "\(failed.summary); run `swock-machine provision --rerun-scripts \(c.name)`"
                }
            }
            let shown = preFiltered.filter { filter.matches($0, state: statuses[$0.name]?.state ?? .error) }
            if quiet {
                for c in shown { Output.out(c.name + "\n") }
                await Self.warn(overlaps)
                return
            }
            let rows = shown.map { ListRow(config: $0, status: statuses[$0.name], active: $0.name == active) }
            switch format {
            case .json?:
                // Sorted keys, "/" escaped as "\/": the bytes JSONSerialization wrote before.
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for r in rows {
                    Output.out(String(decoding: try encoder.encode(r), as: UTF8.self) + "\n")
                }
            case .template(_, let aligned)?:
                guard let t = template else { break }
                let data = shown.map {
                    machineTemplateData(config: $0, store: store, status: statuses[$0.name], active: $0.name == active)
                }
                if aligned {
                    // As the docker CLI's "table": a header from the fields, cells split on tabs.
                    var table = [t.renderHeader(Self.header).components(separatedBy: "\t")]
                    for d in data { table.append(try t.render(d).components(separatedBy: "\t")) }
                    Output.out(TableLayout.render(table))
                } else {
                    for d in data { Output.out(try t.render(d) + "\n") }
                }
            case .table?, nil:
                var table = [ListRow.header]
                for r in rows { table.append(r.cells) }
                if filter.isEmpty {
                    for (name, e) in broken {
                        let row = ListRow(
                            name: name, active: "-", driverName: "", state: "Error", url: "",
                            dockerVersion: "Unknown", error: Self.brokenReason(e))
                        table.append(row.cells)
                    }
                }
                Output.out(TableLayout.render(table))
            }
            await Self.warn(overlaps)
        }
    }

    /// One line on stderr per certificate that covers another machine's address.
    static func warn(_ overlaps: Task<[CertificateOverlap.Finding], Never>) async {
        for f in await overlaps.value { Output.err(ErrorReport.warning(f)) }
    }

    /// Machines whose daemon the keeper asks: reached directly, with a daemon to ask (a driver
    /// that owns its host is asked for the power state first; a create that did not finish has none).
    static func keeperAsks(_ c: MachineConfig) -> Bool {
        !c.isBehindJumpHosts && c.provisioning.failedStep != .createHost && (c.driver == "generic" || !c.hasSSH)
    }

    static func probeKey(_ c: MachineConfig, store: Store) -> String {
        let dir = store.machineDir(c.name)
        let files = ["ca.pem", "cert.pem", "key.pem"].map { f in
            FileManager.default.contents(atPath: dir + "/" + f).map { String(decoding: $0, as: UTF8.self) } ?? "missing:\(c.name)"
        }
        let hops = (c.ssh.proxyJump ?? []).map(\.description).joined(separator: ",")
        return ([c.engineURL, String(c.ssh.port), hops] + files).joined(separator: "|")
    }

    func activeName(_ store: Store) -> String? {
        if let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], !host.isEmpty {
            return MachineResolver(store: store).machineMatching(dockerHost: host)
        }
        return store.activeMachine()
    }

    static func header(_ field: String) -> String {
        switch field {
        case "DriverName": return "DRIVER"
        case "DockerVersion": return "DOCKER"
        case "Error": return "ERRORS"
        default: return field.uppercased()
        }
    }

    /// ERRORS of a machine that is not ready: where provisioning stopped, and the way on.
    static func unfinished(_ c: MachineConfig) -> String {
        if c.provisioning.failedStep == .createHost {
            return
                "the \(c.driver) driver's create did not finish; run `swock-machine provision \(c.name)` to retry, or `swock-machine rm -f \(c.name)` to drop it"
        }
        let step = c.provisioning.failedStep?.rawValue
        let what = c.provisioning.phase == .failed ? "provisioning failed" + (step.map { " at \($0)" } ?? "") : "provisioning not finished"
        return "\(what); run `swock-machine provision \(c.name)`"
    }

    static func brokenReason(_ e: StoreError) -> String {
        switch e {
        case .corrupt(_, _, let reason): return "config.json: \(reason)"
        case .unsupportedVersion(_, let found, _): return "config.json format \(found) is newer than this swock-machine"
        default: return ErrorReport.line(e)
        }
    }
}

/// One machine as `ls` shows it: a row of the table, a line of `--format json`.
struct ListRow: Encodable {
    var name, active, driverName, state, url, dockerVersion, error: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name = "Name", active = "Active", driverName = "DriverName", state = "State", url = "URL"
        case dockerVersion = "DockerVersion", error = "Error"
    }

    /// The table's header (NAME ACTIVE DRIVER STATE URL DOCKER ERRORS), in the order of `cells`.
    static var header: [String] { CodingKeys.allCases.map { List.header($0.rawValue) } }

    var cells: [String] { [name, active, driverName, state, url, dockerVersion, error] }
}

extension ListRow {
    /// A machine's row: the fields of `machineFields` that `ls` shows, without building the
    /// rest (a listing of 1,000 machines builds 1,000 rows).
    init(config c: MachineConfig, status s: MachineStatus?, active: Bool) {
        self.init(
            name: c.name, active: active ? "*" : "-", driverName: c.driver, state: s?.state.rawValue ?? "", url: c.clientURL,
            dockerVersion: s.map { $0.engineVersion ?? "Unknown" } ?? "", error: s?.error ?? "")
    }
}

/// `ls --format`: table, json, or a template of fields; "table TEMPLATE" lays the template's
/// fields out as aligned columns under a header. The template itself is parsed in `run`, so a
/// malformed one is reported with what is wrong with it.
enum ListFormat: ExpressibleByArgument {
    case table
    case json
    case template(String, aligned: Bool)

    init?(argument: String) {
        switch argument {
        case "table": self = .table
        case "json": self = .json
        case let t where t.hasPrefix("table "): self = .template(String(t.dropFirst(6)), aligned: true)
        default: self = .template(argument, aligned: false)
        }
    }

    var template: String? {
        if case .template(let t, _) = self { return t }
        return nil
    }
}
