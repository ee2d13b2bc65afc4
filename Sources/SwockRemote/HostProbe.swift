import Foundation
import SwockSupport

/// What one round trip tells about a host: OS, hostname, architecture, init system, where
/// dockerd is. `script` runs remotely; `parse` is pure and unit-tested.
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

    public static let script = """
        PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
        echo '==os-release'; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
        echo '==hostname'; hostname 2>/dev/null || cat /etc/hostname 2>/dev/null
        echo '==arch'; uname -m
        echo '==init'
        if [ -d /run/systemd/system ]; then echo systemd
        elif command -v openrc >/dev/null 2>&1 || [ -d /run/openrc ]; then echo openrc
        elif [ "$(cat /proc/1/comm 2>/dev/null)" = init ] && { [ -f /etc/inittab ] || [ -x /etc/init.d/docker ]; }; then echo sysvinit
        else echo none; fi
        echo '==dockerd'; command -v dockerd 2>/dev/null || true
        echo '==dnf'; command -v dnf 2>/dev/null || true
        echo '==containerd'
        if [ -d /run/systemd/system ]; then
          unit=$(systemctl show -p FragmentPath --value docker.service 2>/dev/null)
          [ -n "$unit" ] && [ -f "$unit" ] && grep -v '^#' "$unit" | grep -o -- '--containerd=[^ "]*' | tail -n 1
        fi
        echo '==service-script'
        if [ -f /etc/init.d/docker ]; then
          if head -n 1 /etc/init.d/docker | grep -q openrc-run; then echo openrc-run; else echo lsb; fi
        fi
        echo '==end'
        """

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
