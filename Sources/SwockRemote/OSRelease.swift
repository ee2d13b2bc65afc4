/// `/etc/os-release`, parsed (shell-style KEY=value lines, values optionally quoted).
public struct OSRelease: Sendable, Equatable {
    public var id: String
    public var idLike: [String]
    public var versionID: String?
    public var prettyName: String?

    public init(id: String, idLike: [String] = [], versionID: String? = nil, prettyName: String? = nil) {
        self.id = id
        self.idLike = idLike
        self.versionID = versionID
        self.prettyName = prettyName
    }

    /// Parses the file's text; nil when there is no ID.
    public init?(parsing text: String) {
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq])
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f {
                value = String(value.dropFirst().dropLast())
                if f == "\"" {
                    value = value.replacingOccurrences(of: "\\\"", with: "\"")
                        .replacingOccurrences(of: "\\$", with: "$")
                        .replacingOccurrences(of: "\\`", with: "`")
                        .replacingOccurrences(of: "\\\\", with: "\\")
                }
            }
            values[key] = value
        }
        guard let id = values["ID"]?.lowercased(), !id.isEmpty else { return nil }
        self.id = id
        self.idLike = (values["ID_LIKE"] ?? "").lowercased().split(separator: " ").map(String.init)
        self.versionID = values["VERSION_ID"]
        self.prettyName = values["PRETTY_NAME"]
    }
}

/// Families of distributions that install the engine the same way.
public enum OSFamily: String, Sendable, CaseIterable, Codable {
    case debian, rhel, alpine, suse, arch

    static let members: [OSFamily: Set<String>] = [
        .debian: ["debian", "ubuntu", "raspbian", "linuxmint", "pop", "elementary", "kali", "devuan"],
        .rhel: ["fedora", "rhel", "centos", "rocky", "almalinux", "ol", "amzn", "scientific"],
        .alpine: ["alpine"],
        .suse: ["opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "suse", "sled"],
        .arch: ["arch", "manjaro", "endeavouros", "archarm"],
    ]

    /// The family of ID, else of the first ID_LIKE entry that is known (so derivatives work).
    public static func detect(_ release: OSRelease) -> OSFamily? {
        for candidate in [release.id] + release.idLike {
            for family in OSFamily.allCases where members[family]!.contains(candidate) {
                return family
            }
        }
        return nil
    }
}
