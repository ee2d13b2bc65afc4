import SwockRemote
import SwockStore
import SwockSupport

/// How the engine gets onto a host: pure planning, unit-tested; the provisioner runs the result.
public enum EngineInstallPlan: Equatable, Sendable {
    /// Nothing to do: dockerd is already there (or install is `none`).
    case alreadyInstalled
    case packageManager(family: OSFamily, command: String)
    case script(url: String, command: String)
    /// From a local folder of packages, for hosts without a repository (`EngineBundle`).
    case bundle(EngineBundle)

    /// Waits for an apt/dpkg run still going on the host (say, one whose SSH session was cut),
    /// then finishes an interrupted dpkg run (prints "repaired" when there was one).
    public static let debianRepair = Scripts.enginePackages.command("repair")

    /// Why the engine cannot be installed (or upgraded). The flags that would change it are
    /// SwockCommands' to name (ErrorReport).
    public enum NotInstallable: CodedError, Equatable {
        /// dockerd is missing and installing it is turned off (install method none).
        case installDisabled
        /// No package manager known for the host's OS (`id`: its ID, or why there is none; `like`: ID_LIKE).
        case unknownOS(id: String, like: [String])
        /// An upgrade on a host whose OS family is unknown.
        case upgradeUnknownFamily

        public var code: ErrorCode {
            switch self {
            case .installDisabled: "engine.install-disabled"
            case .unknownOS: "engine.unknown-os"
            case .upgradeUnknownFamily: "engine.upgrade-unknown-os"
            }
        }

        /// The OS as the messages name it: `"plan9", ID_LIKE inferno bell`.
        public var osText: String {
            guard case .unknownOS(let id, let like) = self else { return "" }
            return "\"\(id)\"" + (like.isEmpty ? "" : ", ID_LIKE \(like.joined(separator: " "))")
        }

        public var description: String {
            switch self {
            case .installDisabled: "dockerd is not installed on the host and installing it is turned off"
            case .unknownOS: "cannot install Docker Engine on OS \(osText): no known package manager for it"
            case .upgradeUnknownFamily:
                "cannot upgrade the engine: the host's OS family is unknown; upgrade Docker Engine on the host yourself"
            }
        }
    }

    /// - Parameters:
    ///   - dockerdPresent: `command -v dockerd` found one.
    ///   - hasPackageManager: for dnf vs yum on the rhel family.
    public static func plan(
        release: OSRelease?, family: OSFamily?, dockerdPresent: Bool,
        method: EngineSettings.InstallMethod, installURL: String?, hasDnf: Bool = true,
        bundle: EngineBundle? = nil
    ) throws -> EngineInstallPlan {
        if dockerdPresent { return .alreadyInstalled }
        if let bundle { return .bundle(bundle) }
        if method == .none {
            throw NotInstallable.installDisabled
        }
        if let url = installURL {
            let command = Scripts.installScript.command(url)
            return .script(url: url, command: command)
        }
        guard let family else {
            throw NotInstallable.unknownOS(id: release?.id ?? "unknown (no /etc/os-release)", like: release?.idLike ?? [])
        }
        // Scripts/engine-packages.sh; rhel: dnf where the host has it, else yum.
        let command =
            family == .rhel
            ? Scripts.enginePackages.command("install", family.rawValue, hasDnf ? "dnf" : "yum")
            : Scripts.enginePackages.command("install", family.rawValue)
        return .packageManager(family: family, command: command)
    }
}
