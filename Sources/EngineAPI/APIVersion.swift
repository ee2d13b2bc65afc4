/// Docker Engine API versions ("1.41") and per-host negotiation (pure).
public enum APIVersion {
    /// The newest API version this client speaks.
    public static let clientMaximum = "1.47"

    /// The version to use with one daemon: `override` (DOCKER_API_VERSION) if given; otherwise
    /// min(clientMaximum, serverMax), raised to serverMin when known and higher.
    public static func negotiate(serverMax: String, serverMin: String?, override: String?) -> String {
        if let override = normalized(override) { return override }
        guard let serverMax = normalized(serverMax) else { return clientMaximum }
        var chosen = compare(clientMaximum, serverMax) == .orderedAscending ? clientMaximum : serverMax
        if let serverMin = normalized(serverMin), compare(chosen, serverMin) == .orderedAscending {
            chosen = serverMin
        }
        return chosen
    }

    /// Numeric, component-wise comparison: "1.9" < "1.41", "1.41" == "1.41.0".
    public static func compare(_ a: String, _ b: String) -> Ordering {
        let x = components(a), y = components(b)
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0, r = i < y.count ? y[i] : 0
            if l != r { return l < r ? .orderedAscending : .orderedDescending }
        }
        return .orderedSame
    }

    public enum Ordering: Sendable { case orderedAscending, orderedSame, orderedDescending }

    /// Trims, drops a leading "v"; nil when empty.
    static func normalized(_ text: String?) -> String? {
        guard var t = text?.trimmingWhitespace(), !t.isEmpty else { return nil }
        if t.hasPrefix("v") || t.hasPrefix("V") { t.removeFirst() }
        return t.isEmpty ? nil : t
    }

    private static func components(_ v: String) -> [Int] {
        let text = normalized(v) ?? ""
        return text.split(separator: ".", omittingEmptySubsequences: false).map { part in
            Int(part.prefix(while: \.isNumber)) ?? 0
        }
    }
}
