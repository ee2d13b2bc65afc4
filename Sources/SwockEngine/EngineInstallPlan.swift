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
    public static let debianRepair = """
        for i in $(seq 1 600); do pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null || break; sleep 0.5; done; \
        if [ -n "$(dpkg --audit 2>/dev/null)" ]; then export DEBIAN_FRONTEND=noninteractive; \
        dpkg --configure -a && apt-get -o DPkg::Lock::Timeout=300 install -f -y -q >/dev/null && echo repaired; fi
        """

    public struct NotInstallable: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// - Parameters:
    ///   - dockerdPresent: `command -v dockerd` found one.
    ///   - hasPackageManager: for dnf vs yum on the rhel family.
    public static func plan(release: OSRelease?, family: OSFamily?, dockerdPresent: Bool,
                            method: EngineSettings.InstallMethod, installURL: String?, hasDnf: Bool = true,
                            bundle: EngineBundle? = nil) throws -> EngineInstallPlan {
        if dockerdPresent { return .alreadyInstalled }
        if let bundle { return .bundle(bundle) }
        if method == .none {
            throw NotInstallable(description: "dockerd is not installed on the host and --engine-install is none; install Docker Engine there first, or use --engine-install auto")
        }
        if let url = installURL {
            let q = ShellQuote.quote(url)
            let command = """
                set -e; f=$(mktemp); \
                if command -v curl >/dev/null 2>&1; then curl -fsSL \(q) -o "$f"; \
                elif command -v wget >/dev/null 2>&1; then wget -qO "$f" \(q); \
                else echo 'neither curl nor wget is installed' >&2; exit 1; fi; \
                sh "$f"; rm -f "$f"
                """
            return .script(url: url, command: command)
        }
        guard let family else {
            let id = release?.id ?? "unknown (no /etc/os-release)"
            let like = release.map { $0.idLike.isEmpty ? "" : ", ID_LIKE \($0.idLike.joined(separator: " "))" } ?? ""
            throw NotInstallable(description: "cannot install Docker Engine on OS \"\(id)\"\(like): no known package manager for it; pass --engine-install-url URL (a get.docker.com-style script) or install the engine yourself and pass --engine-install none")
        }
        let command: String
        switch family {
        case .debian:
            // Wait for other apt/dpkg runs (cloud-init, unattended-upgrades) instead of failing, and
            // first finish anything an earlier, interrupted install left half done. One attempt:
            // its own error is the one worth showing.
            let apt = "apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3"
            command = "export DEBIAN_FRONTEND=noninteractive; dpkg --configure -a; \(apt) install -f -y -q; \(apt) update -q && \(apt) install -y -q docker.io"
        case .rhel:
            command = hasDnf
                ? "dnf install -y moby-engine || dnf install -y docker"
                : "yum install -y docker"
        case .alpine:
            command = "apk add --no-cache docker && (rc-update add docker default || true)"
        case .suse:
            command = "zypper --non-interactive install docker"
        case .arch:
            command = "pacman -Sy --noconfirm docker"
        }
        return .packageManager(family: family, command: command)
    }
}
