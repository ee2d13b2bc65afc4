import Foundation
import SwockProvision
import SwockRuntime

/// What a fleet file (or create's --swarm-init / --swarm-manager) asks of Swarm mode once the
/// machines exist: which start a swarm, and who joins whose, as what.
public struct SwarmPlan: Sendable, Equatable {
    public struct Join: Sendable, Equatable {
        public var manager: String
        public var asManager: Bool
        public var names: [String]

        public init(manager: String, asManager: Bool, names: [String]) {
            self.manager = manager
            self.asManager = asManager
            self.names = names
        }
    }

    public var inits: [String]
    public var joins: [Join]

    public var isEmpty: Bool { inits.isEmpty && joins.isEmpty }

    public init(inits: [String] = [], joins: [Join] = []) {
        self.inits = inits
        self.joins = joins
    }

    /// Joins grouped by manager and role, in file order.
    public init(fleet: FleetFile) {
        var inits: [String] = []
        var joins: [Join] = []
        for m in fleet.machines {
            guard let sw = m.swarm, let name = m.name else { continue }
            if sw.`init` == true { inits.append(name); continue }
            guard let mgr = sw.manager else { continue }
            let asManager = sw.role == "manager"
            if let i = joins.firstIndex(where: { $0.manager == mgr && $0.asManager == asManager }) {
                joins[i].names.append(name)
            } else {
                joins.append(Join(manager: mgr, asManager: asManager, names: [name]))
            }
        }
        self.init(inits: inits, joins: joins)
    }
}

extension SwarmControl {
    /// Carries out a plan on machines that are ready: inits first (a machine already managing
    /// a swarm counts as done), then the joins. One outcome per machine named in the plan; the
    /// machines in `skip` (their create failed) are left out, and so are the joins of a
    /// manager that is not there.
    public func apply(
        _ plan: SwarmPlan, skip: Set<String> = [],
        finished: @escaping @Sendable (HostOutcome) -> Void = { _ in }
    ) async -> [HostOutcome] {
        var outcomes: [HostOutcome] = []
        var managers = Set<String>()
        for name in plan.inits where !skip.contains(name) {
            var o: HostOutcome
            do {
                _ = try await initialize(name, advertiseAddress: nil, defaultAddressPool: [])
                o = HostOutcome(name: name, result: .ok, detail: "started a swarm as its manager")
            } catch SwarmError.alreadyInSwarm(_, let role) where role == "manager" {
                o = HostOutcome(name: name, result: .ok, detail: "already a swarm manager")
            } catch {
                o = HostOutcome(name: name, result: .failed, error: "\(error)", failure: error)
            }
            if o.result == .ok { managers.insert(name) }
            finished(o)
            outcomes.append(o)
        }
        for j in plan.joins {
            let names = j.names.filter { !skip.contains($0) }
            if names.isEmpty { continue }
            let managerIsThere = managers.contains(j.manager) || (!plan.inits.contains(j.manager) && store.exists(j.manager))
            guard managerIsThere else {
                for n in names {
                    let o = HostOutcome(name: n, result: .failed, failure: SwarmError.managerNotReady(n, manager: j.manager))
                    finished(o)
                    outcomes.append(o)
                }
                continue
            }
            do {
                outcomes += try await join(names, manager: j.manager, asManager: j.asManager, finished: finished)
            } catch {
                for n in names {
                    let o = HostOutcome(name: n, result: .failed, error: "\(error)", failure: error)
                    finished(o)
                    outcomes.append(o)
                }
            }
        }
        return outcomes
    }
}
