import Foundation
import SwockStore
import SwockSupport

/// `--filter key=value` as in docker-machine: the same key given twice is ORed, different keys
/// are ANDed; `name` is a regular expression, `label` is `k=v` or just `k`.
public struct MachineFilter: Sendable {
    public enum Key: String, CaseIterable, Sendable { case name, state, label, driver }

    var terms: [Key: [String]] = [:]
    private var regexes: [NSRegularExpression] = []

    /// A filter term that cannot work (the flag's name is SwockCommands' to say).
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        /// Not KEY=VALUE with one of `Key`'s keys.
        case badTerm(String)
        /// name=VALUE where VALUE is not a regular expression.
        case badRegex(String)

        public var description: String {
            switch self {
            case .badTerm(let spec):
                "filter \"\(spec)\": expected KEY=VALUE with KEY one of \(Key.allCases.map(\.rawValue).joined(separator: ", "))"
            case .badRegex(let value): "filter name=\(value): not a valid regular expression"
            }
        }
    }

    public init(_ specs: [String]) throws {
        for spec in specs {
            guard let eq = spec.firstIndex(of: "="), let key = Key(rawValue: String(spec[..<eq]).lowercased()) else {
                throw Error.badTerm(spec)
            }
            let value = String(spec[spec.index(after: eq)...])
            if key == .name {
                do { regexes.append(try NSRegularExpression(pattern: value)) } catch {
                    throw Error.badRegex(value)
                }
            }
            terms[key, default: []].append(value)
        }
    }

    /// Whether the filter needs the live state (so `ls` may skip probing otherwise).
    public var needsState: Bool { terms[.state] != nil }
    public var isEmpty: Bool { terms.isEmpty }

    /// With `state` nil, the state term (if any) is not checked: the rest can be decided offline.
    public func matches(_ c: MachineConfig, state: MachineStatus.State?) -> Bool {
        if terms[.name] != nil {
            let range = NSRange(c.name.startIndex..., in: c.name)
            guard regexes.contains(where: { $0.firstMatch(in: c.name, range: range) != nil }) else { return false }
        }
        if let drivers = terms[.driver], !drivers.contains(where: { $0.caseInsensitiveCompare(c.driver) == .orderedSame }) { return false }
        if let states = terms[.state], let s = state {
            guard states.contains(where: { $0.caseInsensitiveCompare(s.rawValue) == .orderedSame }) else { return false }
        }
        if let labels = terms[.label] {
            let ok = labels.contains { spec in
                if let eq = spec.firstIndex(of: "=") {
                    return c.labels[String(spec[..<eq])] == String(spec[spec.index(after: eq)...])
                }
                return c.labels[spec] != nil
            }
            if !ok { return false }
        }
        return true
    }
}

extension MachineFilter.Error: CodedError {
    public var code: ErrorCode { "client.invalid-filter" }
}
