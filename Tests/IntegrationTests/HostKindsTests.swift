import FleetSupport
import Foundation
import Testing

/// The servers people really have: Debian 11 and 13 (their own docker.io, 20.10 and 26.x, API
/// negotiation both ways), and Debian 12 booted with sysvinit or with OpenRC instead of systemd.
/// On each, a fresh host goes through the whole life of a machine, as the sudo user `tester`
/// (the engine comes from the host's own package repository), then again as root on the same
/// host (the engine is already there).
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct HostKindsTests {
    @Test func debian11Bullseye() async throws {
        try await wholeLife(variant: "bullseye", initSystem: "systemd", os: "Debian GNU/Linux 11", engine: "20.10.")
    }

    @Test func debian13Trixie() async throws {
        try await wholeLife(variant: "trixie", initSystem: "systemd", os: "Debian GNU/Linux 13", engine: nil)
    }

    @Test func sysvinit() async throws {
        try await wholeLife(
            variant: "sysvinit", initSystem: "sysvinit", os: "Debian GNU/Linux 12", engine: "20.10.",
            config: "sysvinit /etc/default/docker")
    }

    @Test func openrc() async throws {
        try await wholeLife(
            variant: "openrc", initSystem: "openrc", os: "Debian GNU/Linux 12", engine: "20.10.",
            config: "OpenRC /etc/default/docker")
    }

    /// On sysvinit and OpenRC hosts dockerd's flags pass through a shell (DOCKER_OPTS): labels,
    /// registries and the storage driver go to daemon.json instead, where dockerd reads them
    /// verbatim (a `$(...)` in a label runs nothing, spaces and quotes arrive as given), and an
    /// --engine-opt the shell would split or run is refused with one line naming it, before
    /// anything is written.
    @Test(arguments: ["sysvinit", "openrc"])
    func engineSettingsNeverPassThroughTheInitScriptsShell(variant: String) async throws {
        let name = "op-" + variant
        let host = try await Fleet.fresh(name, variant: variant)
        let cli = CLI()
        defer { cli.cleanup() }
        let before = cli.snapshot()
        let bad = try await cli.create("m", on: host, extra: ["--engine-opt", "log-opt=tag=$(touch /tmp/q)"])
        Faults.expectOneError(bad, ["--engine-opt \"--log-opt=tag=$(touch /tmp/q)\"", "pass through a shell"])
        #expect(cli.snapshot() == before, "the refused create wrote to the store")
        let spaced = try await cli.create("m", on: host, extra: ["--engine-opt", "log-opt=tag=a b"])
        Faults.expectOneError(spaced, ["--engine-opt \"--log-opt=tag=a b\""])
        #expect(cli.snapshot() == before, "the refused create wrote to the store")

        let labels = ["x=$(touch /tmp/p)", "y=`touch /tmp/p`; touch /tmp/p", "sp=a b \"c\" 'd' *"]
        let r = try await cli.create(
            "m", on: host,
            extra: labels.flatMap { ["--engine-label", $0] }
                + ["--label", "who=it's me", "--engine-insecure-registry", "reg.local:5000", "--engine-opt", "log-level=warn"])
        try #require(r.status == 0, "create on \(variant): \(r.all)")
        #expect(r.stderrText.contains("insecure-registries, labels in /etc/docker/daemon.json"), "\(r.stderrText)")
        let info = try await cli.docker(
            ["info", "--format", "{{json .Labels}}\n{{json .RegistryConfig.IndexConfigs}}"], machine: "m", host: host)
        #expect(info.status == 0, "\(info.all)")
        let got =
            (try? JSONSerialization.jsonObject(with: Data((info.stdoutText.split(separator: "\n").first ?? "").utf8))) as? [String] ?? []
        for l in labels + ["who=it's me"] {
            #expect(got.contains(l), "label \(l) is not verbatim in docker info: \(info.stdoutText)")
        }
        #expect(info.stdoutText.contains("reg.local:5000"), "\(info.stdoutText)")
        let ran = try await Fleet.run(name, "ls /tmp/p /tmp/q 2>/dev/null; grep -c -e 'log-level=warn' /etc/default/docker; true")
        #expect(ran.stdoutText == "1\n", "a label ran on the host, or the engine option is not in DOCKER_OPTS: \(ran.all)")
        try await MachineLife.removeAndExpectUnixSocket("m", cli, name: name, sysv: true)
        let after = try await Fleet.run(name, "cat /etc/docker/daemon.json 2>/dev/null; true")
        #expect(!after.stdoutText.contains("touch"), "rm left our labels in daemon.json: \(after.stdoutText)")
    }

    /// - Parameters:
    ///   - engine: the prefix of the release's own docker.io version (nil: any).
    ///   - config: what configure-engine must report (default: the systemd drop-in).
    private func wholeLife(
        variant: String, initSystem: String, os: String, engine: String?,
        config: String = "systemd drop-in /etc/systemd/system/docker.service.d/10-swock-machine.conf"
    ) async throws {
        let name = "hk-" + variant
        let host = try await Fleet.fresh(name, variant: variant)
        let cli = CLI()
        defer { cli.cleanup() }
        let tar = try await Fleet.busyboxTarball()
        let sysv = initSystem != "systemd"

        // As the sudo user: the engine is installed from the host's own repository.
        let r = try await cli.create("m", on: host, user: "tester")
        try #require(r.status == 0, "create as tester on \(variant): \(r.all)")
        #expect(r.stderrText.contains("detect-os: \(os)"), "\(r.stderrText)")
        #expect(
            r.stderrText.contains("init \(initSystem), no dockerd"), "the init system is known before the engine is there: \(r.stderrText)")
        #expect(r.stderrText.contains("passwordless sudo works for tester"))
        #expect(r.stderrText.contains("install-engine: installed with the debian family's package manager"), "\(r.stderrText)")
        #expect(r.stderrText.contains("configure-engine: \(config)"), "\(r.stderrText)")
        if let engine { #expect(r.stderrText.contains("wait-engine: Docker \(engine)"), "\(r.stderrText)") }

        try await MachineLife.expectState("m", "Running", cli)
        try await MachineLife.expectDockerRuns("m", "hello from \(variant)", cli, tar: tar, importing: true)

        try await MachineLife.stopStartRestartRegenerate("m", cli, tar: tar)

        try await MachineLife.removeAndExpectUnixSocket("m", cli, name: name, sysv: sysv)

        // As root, on the same host: the engine is already there and stays the host's.
        let again = try await cli.create("m", on: host, user: "root")
        try #require(again.status == 0, "create as root on \(variant): \(again.all)")
        #expect(again.stderrText.contains("init \(initSystem), dockerd at"), "\(again.stderrText)")
        #expect(again.stderrText.contains("logged in as root"))
        #expect(again.stderrText.contains("install-engine: dockerd already present"), "\(again.stderrText)")
        #expect(again.stderrText.contains("configure-engine: \(config)"), "\(again.stderrText)")
        try await MachineLife.expectState("m", "Running", cli)
        try await MachineLife.expectDockerRuns("m", "hello again from \(variant)", cli, tar: tar)
        try await MachineLife.removeAndExpectUnixSocket("m", cli, name: name, sysv: sysv)
    }
}
