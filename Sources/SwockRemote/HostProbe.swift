import Foundation
import SwockSupport

/// What one round trip tells about a host: OS, hostname, architecture, init system, where
/// dockerd is. `script` (Scripts/host-probe.sh) runs remotely; `parse` is pure and unit-tested.
public struct HostProbe: Sendable, Equatable {
    public var release: OSRelease?
    public var hostname: String?
    public var architecture: String?
    public var initSystem: String
    public var dockerdPath: String?
    public var hasDnf: Bool
    /// The `--containerd=...` flag of the packaged systemd unit (never of our drop-in), when it has one.
    public var stockContainerdFlag: String?
    /// What /etc/init.d/docker is, when there is one: `openrc-run` or `lsb` (`InitSystem.ServiceScript`).
    public var dockerServiceScript: String? = nil

    /// Scripts/host-probe.sh: runs as the login user, prints the sections `parse` reads.
    public static let script = RemoteScript("host-probe", PackageResources.host_probe_sh)
    /// The command line that runs `script`.
    public static var command: String { script.command() }

    public static func parse(_ text: String) -> HostProbe {
        var sections: [String: [String]] = [:]
        var current: String?
        for line in text.textLines(keepingEmpty: true).map(String.init) {
            if line.hasPrefix("==") {
                current = String(line.dropFirst(2))
                sections[current!] = []
            } else if let c = current {
                sections[c, default: []].append(line)
            }
        }
        func first(_ key: String) -> String? {
            sections[key]?.map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
        }
        return HostProbe(
            release: OSRelease(parsing: (sections["os-release"] ?? []).joined(separator: "\n")),
            hostname: first("hostname"),
            architecture: first("arch"),
            initSystem: first("init") ?? "none",
            dockerdPath: first("dockerd"),
            hasDnf: first("dnf") != nil,
            stockContainerdFlag: first("containerd"),
            dockerServiceScript: first("service-script")
        )
    }
}
