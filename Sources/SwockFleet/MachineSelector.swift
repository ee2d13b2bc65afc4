import Foundation
import SwockClient
import SwockStore
import SwockSupport

/// One machine a fleet command was asked to run on: its record, or why the record is unusable
/// (a broken record matched by a glob or `--all` is reported per host, never fatal to the others).
public struct SelectedMachine: Sendable, Equatable {
    public var name: String
    public var record: Result<MachineConfig, StoreError>

    public init(name: String, record: Result<MachineConfig, StoreError>) {
        self.name = name
        self.record = record
    }

    public var config: MachineConfig? { try? record.get() }
}

/// The selector grammar of the fleet commands (`exec`, `docker`):
///
///     NAME...        exact names and globs (`web*`, `db?`, `[ab]1`), ORed together
///     --all          every machine of the store
///     --filter K=V   `ls`'s filter (name=REGEXP, state=, label=, driver=), ANDed with the above;
///                    alone, it applies to every machine
///
/// The result is in store order, each machine once. The pure part (`select`) decides everything
/// but live state; `resolve` adds it when the filter has a state term.
public struct MachineSelector: Sendable {
    public let patterns: [String]
    public let all: Bool
    public let filter: MachineFilter

    /// Why a selection is refused. The command line's words (--all, --filter, `ls`) are
    /// SwockCommands' (ErrorReport), from these cases.
    public enum Error: CodedError, Equatable {
        /// Names and "all" together.
        case namesAndAll
        /// No names, no "all", no filter.
        case nothingSelected
        /// A glob that matches no machine.
        case globMatchesNothing(String)
        /// The store has no machines.
        case emptyStore
        /// The filter leaves no machine.
        case filterMatchesNothing

        public var code: ErrorCode {
            switch self {
            case .namesAndAll, .nothingSelected: "fleet.invalid-selection"
            case .globMatchesNothing, .emptyStore, .filterMatchesNothing: "fleet.no-match"
            }
        }

        public var description: String {
            switch self {
            case .namesAndAll: "machine names and all machines were both asked for"
            case .nothingSelected: "no machines selected"
            case .globMatchesNothing(let p): "no machine matches \"\(p)\""
            case .emptyStore: "no machines in the store"
            case .filterMatchesNothing: "no machine matches the selection (its filter)"
            }
        }
    }

    public init(patterns: [String], all: Bool = false, filters: [String] = []) throws {
        self.filter = try MachineFilter(filters)
        if all && !patterns.isEmpty {
            throw Error.namesAndAll
        }
        if !all && patterns.isEmpty && filter.isEmpty {
            throw Error.nothingSelected
        }
        for p in patterns where !Self.isGlob(p) { try MachineName.validate(p) }
        self.patterns = patterns
        self.all = all
    }

    /// Whether live state must be probed before the selection is final.
    public var needsState: Bool { filter.needsState }

    public static func isGlob(_ s: String) -> Bool {
        s.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// The selection among `entries` (store order), without the state term of the filter.
    /// An unknown plain name or a glob that matches nothing throws; so does an empty selection
    /// when no filter is involved (with a filter, `resolve` decides after the state is known).
    public func select(from entries: [SelectedMachine]) throws -> [SelectedMachine] {
        let names = Set(entries.map(\.name))
        for p in patterns {
            if Self.isGlob(p) {
                if !entries.contains(where: { Self.glob(p, matches: $0.name) }) {
                    throw Error.globMatchesNothing(p)
                }
            } else if !names.contains(p) {
                throw StoreError.notFound(p)
            }
        }
        let chosen = entries.filter { e in
            guard all || patterns.isEmpty || patterns.contains(where: { Self.isGlob($0) ? Self.glob($0, matches: e.name) : $0 == e.name })
            else { return false }
            if filter.isEmpty { return true }
            // A broken record cannot be judged by labels or driver: only plain selection takes it.
            guard let c = e.config else { return false }
            return filter.matches(c, state: nil)
        }
        if chosen.isEmpty && filter.isEmpty {
            throw Error.emptyStore
        }
        return chosen
    }

    /// Like `select`, after the state term: `state` gives each machine's live state.
    public func applyState(_ selected: [SelectedMachine], state: [String: MachineStatus.State]) throws -> [SelectedMachine] {
        let out =
            needsState
            ? selected.filter { e in e.config.map { filter.matches($0, state: state[e.name] ?? .error) } ?? false }
            : selected
        if out.isEmpty { throw Error.filterMatchesNothing }
        return out
    }

    // MARK: - Globs

    /// Shell-style glob: `*` any run, `?` one character, `[abc]`, `[a-z]`, `[!x]` / `[^x]` classes.
    /// An unterminated `[` is a literal.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern), s = Array(name)
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    starP = pi; starS = si; pi += 1
                    continue
                case "?":
                    pi += 1; si += 1
                    continue
                case "[":
                    if let (hit, next) = matchClass(p, at: pi, s[si]) {
                        if hit { pi = next; si += 1; continue }
                    } else if s[si] == "[" {
                        pi += 1; si += 1
                        continue
                    }
                default:
                    if p[pi] == s[si] { pi += 1; si += 1; continue }
                }
            }
            // Mismatch: let the last star swallow one more character, or fail.
            guard starP >= 0 else { return false }
            starS += 1
            si = starS
            pi = starP + 1
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// For a class starting at `p[start] == "["`: whether `c` is in it and the index after `]`;
    /// nil when the class is not terminated.
    private static func matchClass(_ p: [Character], at start: Int, _ c: Character) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.count && (p[i] == "!" || p[i] == "^") { negate = true; i += 1 }
        var hit = false
        var first = true
        while i < p.count {
            if p[i] == "]" && !first { return (hit != negate, i + 1) }
            first = false
            if i + 2 < p.count && p[i + 1] == "-" && p[i + 2] != "]" {
                if p[i] <= c && c <= p[i + 2] { hit = true }
                i += 3
            } else {
                if p[i] == c { hit = true }
                i += 1
            }
        }
        return nil
    }
}

extension MachineSelector {
    /// Reads the store and selects; when the filter has a state term, the candidates' live state
    /// is probed all at once within `stateTimeout`.
    public func resolve(in store: Store, stateTimeout: Duration = .seconds(3)) async throws -> [SelectedMachine] {
        let entries = store.list().map { SelectedMachine(name: $0.name, record: $0.result) }
        let chosen = try select(from: entries)
        guard needsState else {
            if chosen.isEmpty { throw Error.filterMatchesNothing }
            return chosen
        }
        let states = await withTaskGroup(of: (String, MachineStatus.State).self) { group in
            for e in chosen {
                guard let c = e.config else { continue }
                group.addTask { (c.name, await MachineStatus.probe(c, store: store, timeout: stateTimeout).state) }
            }
            var out: [String: MachineStatus.State] = [:]
            for await (n, s) in group { out[n] = s }
            return out
        }
        return try applyState(chosen, state: states)
    }
}
