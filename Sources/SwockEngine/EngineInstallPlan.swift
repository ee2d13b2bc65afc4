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

    public struct NotInstallable: Error, CustomStringConvertible, Equatable {
        public var description: String
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
            throw NotInstallable(
                description:
                    "dockerd is not installed on the host and --engine-install is none; install Docker Engine there first, or use --engine-install auto"
            )
        }
        if let url = installURL {
            let command = Scripts.installScript.command(url)
            return .script(url: url, command: command)
        }
        guard let family else {
            let id = release?.id ?? "unknown (no /etc/os-release)"
            let like = release.map { $0.idLike.isEmpty ? "" : ", ID_LIKE \($0.idLike.joined(separator: " "))" } ?? ""
            throw NotInstallable(
                description:
                    "cannot install Docker Engine on OS \"\(id)\"\(like): no known package manager for it; pass --engine-install-url URL (a get.docker.com-style script) or install the engine yourself and pass --engine-install none"
            )
        }
        // Scripts/engine-packages.sh; rhel: dnf where the host has it, else yum.
        let command =
            family == .rhel
            ? Scripts.enginePackages.command("install", family.rawValue, hasDnf ? "dnf" : "yum")
            : Scripts.enginePackages.command("install", family.rawValue)
        return .packageManager(family: family, command: command)
    }
}
