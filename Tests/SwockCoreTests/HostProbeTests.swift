import FleetSupport
import Foundation
import Testing

@testable import SwockEngine
@testable import SwockRemote

@Suite struct HostProbeTests {
    static let debianOSRelease = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        VERSION="12 (bookworm)"
        VERSION_CODENAME=bookworm
        ID=debian
        HOME_URL="https://www.debian.org/"
        """

    @Test func systemdDebianWithDockerd() throws {
        let out = """
            ==os-release
            \(Self.debianOSRelease)
            ==hostname
            web-1
            ==arch
            x86_64
            ==init
            systemd
            ==dockerd
            /usr/sbin/dockerd
            ==dnf
            ==containerd
            --containerd=/run/containerd/containerd.sock
            ==end

            """
        let p = HostProbe.parse(out)
        #expect(
            p
                == HostProbe(
                    release: OSRelease(id: "debian", versionID: "12", prettyName: "Debian GNU/Linux 12 (bookworm)"),
                    hostname: "web-1", architecture: "x86_64", initSystem: "systemd", dockerdPath: "/usr/sbin/dockerd",
                    hasDnf: false, stockContainerdFlag: "--containerd=/run/containerd/containerd.sock"))
        #expect(p.release.flatMap(OSFamily.detect) == .debian)
    }

    @Test func rockyWithoutDockerd() throws {
        let out = """
            ==os-release
            NAME="Rocky Linux"
            VERSION="9.3 (Blue Onyx)"
            ID="rocky"
            ID_LIKE="rhel centos fedora"
            VERSION_ID="9.3"
            ==hostname
            db
            ==arch
            aarch64
            ==init
            systemd
            ==dockerd
            ==dnf
            /usr/bin/dnf
            ==containerd
            ==end
            """
        let p = HostProbe.parse(out)
        #expect(p.release?.id == "rocky")
        #expect(p.release?.idLike == ["rhel", "centos", "fedora"])
        #expect(p.dockerdPath == nil)
        #expect(p.hasDnf)
        #expect(p.stockContainerdFlag == nil)
        #expect(p.architecture == "aarch64")
        #expect(p.release.flatMap(OSFamily.detect) == .rhel)
    }

    @Test func openrcAlpine() {
        let out =
            "==os-release\nNAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n==hostname\nalp\n==arch\nx86_64\n==init\nopenrc\n==dockerd\n/usr/bin/dockerd\n==dnf\n==containerd\n==end\n"
        let p = HostProbe.parse(out)
        #expect(p.initSystem == "openrc")
        #expect(p.release == OSRelease(id: "alpine", versionID: "3.19.1", prettyName: "Alpine Linux v3.19"))
        #expect(p.dockerdPath == "/usr/bin/dockerd")
        #expect(p.hostname == "alp")
    }

    /// Debian with OpenRC after docker.io went in: the docker service is docker.io's LSB script.
    @Test func debianOpenRCWithDockerIOsLSBScript() {
        let out =
            "==os-release\n\(Self.debianOSRelease)\n==hostname\nh\n==arch\nx86_64\n==init\nopenrc\n==dockerd\n/usr/sbin/dockerd\n==dnf\n==containerd\n==service-script\nlsb\n==end\n"
        let p = HostProbe.parse(out)
        #expect(p.initSystem == "openrc")
        #expect(p.dockerServiceScript == "lsb")
        #expect(
            InitSystem.openrc.configPath(serviceScript: InitSystem.ServiceScript(probed: p.dockerServiceScript)) == "/etc/default/docker")
        // Before the engine is installed there is no script yet.
        #expect(
            HostProbe.parse(out.replacingOccurrences(of: "==service-script\nlsb\n", with: "==service-script\n")).dockerServiceScript == nil)
    }

    /// The init system is told by PID 1, not by whether docker's init script is there yet: a
    /// sysvinit host without the engine is still sysvinit. Runs the probe's own init lines with
    /// stand-ins for /proc/1/comm and /etc/inittab.
    @Test func sysvinitIsDetectedBeforeTheEngineIsInstalled() throws {
        let lines = HostProbe.script.text.textLines(keepingEmpty: true).map(String.init)
        let start = try #require(lines.firstIndex(of: "echo '==init'"))
        let end = try #require(lines.firstIndex(of: "echo '==dockerd'; command -v dockerd 2>/dev/null || true"))
        let detect = lines[(start + 1)..<end].joined(separator: "\n")
        #expect(detect.contains("/proc/1/comm") && detect.contains("/etc/inittab"))
        #expect(!detect.contains("[ -x /etc/init.d/docker ]; then echo sysvinit"), "sysvinit must not need docker's script")
    }

    @Test func noInitSystemAndMissingOSRelease() {
        let out = "==os-release\n==hostname\n  box  \n==arch\narmv7l\n==init\nnone\n==dockerd\n==dnf\n==containerd\n==end\n"
        let p = HostProbe.parse(out)
        #expect(p.release == nil)
        #expect(p.hostname == "box")
        #expect(p.initSystem == "none")
        #expect(p.dockerdPath == nil && !p.hasDnf && p.stockContainerdFlag == nil)
    }

    @Test func emptyOrGarbageOutput() {
        for out in ["", "some banner\nno sections\n"] {
            let p = HostProbe.parse(out)
            #expect(
                p
                    == HostProbe(
                        release: nil, hostname: nil, architecture: nil, initSystem: "none", dockerdPath: nil, hasDnf: false,
                        stockContainerdFlag: nil))
        }
    }

    /// The script's section names match what parse reads: run it on this machine.
    @Test func scriptRunsLocally() throws {
        let r = try sh(HostProbe.command)
        #expect(r.status == 0, "\(r.stderrText)")
        let p = HostProbe.parse(r.stdoutText)
        let uname = try sh("uname -m").stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(p.architecture == uname)
        #expect(["systemd", "openrc", "sysvinit", "none"].contains(p.initSystem))
        if let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) {
            #expect(p.release == OSRelease(parsing: text))
            #expect(p.release != nil)
        }
        if let d = findExecutable("dockerd") { #expect(p.dockerdPath == d) }
        #expect(p.hostname?.isEmpty == false)
    }
}
