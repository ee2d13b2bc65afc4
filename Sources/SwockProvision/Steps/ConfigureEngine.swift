import Foundation
import SSHKit
import SwockEngine
import SwockRemote
import SwockStore
import SwockSupport

/// configure-engine: daemon.json adopted, our init-system configuration in place, one restart.
extension Provisioner {
    func configureEngine(config: MachineConfig, probe: HostProbe, ssh: any RemoteHost) async throws -> String {
        guard let dockerd = probe.dockerdPath else {
            throw ProvisionError(machine: config.name, step: .configureEngine, reason: "dockerd is not on the host", resumable: true)
        }
        let initSystem = InitSystem(probed: probe.initSystem)
        try refuseShellUnsafeOptions(
            config.name, config.engine, initSystem: initSystem, probe: probe, step: .configureEngine, resumable: true)
        // live-restore goes into daemon.json (DaemonJSON), so the running daemon has it too; so
        // do the labels, registries and storage driver where the init script has a shell pass
        // dockerd's flags (a shell would split or run them).
        let settings =
            initSystem.passesOptionsThroughShell
            ? EngineConfigRenderer.daemonJSONSettings(engine: config.engine, machineLabels: config.labels) : [:]
        let daemonJSON = try await DaemonJSON.adoption(ssh: ssh, settings: settings)
        let launch = DaemonLaunch(
            config, dockerdPath: dockerd,
            containerdSocket: probe.stockContainerdFlag.map { String($0.dropFirst("--containerd=".count)) })
        let script = InitSystem.ServiceScript(probed: probe.dockerServiceScript)
        // One round trip: the originals kept, daemon.json and our init file in place, the running
        // daemon told about live-restore when it has containers, then one restart.
        var files: [RootFile] = [], keep: [String] = []
        if let f = daemonJSON.file { files.append(f) }
        if let k = daemonJSON.keepCommand { keep.append(k) }
        if let path = initSystem.configPath(serviceScript: script), let file = initSystem.configFile(launch) {
            if let k = initSystem.keepOriginalCommand(at: path) { keep.append(k) }
            files.append(RootFile(path, Data(file.utf8), mode: 0o644))
        }
        var apply = initSystem.applyConfiguration(launch)
        if daemonJSON.switchesOnLiveRestore { apply = DaemonJSON.reloadIfContainersRun + "; " + apply }
        let applied: ExecResult
        if files.isEmpty {
            applied = try await ssh.execAsRoot(apply, timeout: limits.configure)
        } else {
            applied = try await ssh.installAsRoot(
                files, before: keep.isEmpty ? nil : keep.joined(separator: "\n"), then: apply,
                timeout: limits.configure)!
        }
        guard applied.succeeded else {
            throw ProvisionError(
                machine: config.name, step: .configureEngine,
                reason:
                    "dockerd did not start with the new configuration; daemon log: \(await EngineReadiness.daemonLog(ssh: ssh, initSystem: initSystem))",
                resumable: true)
        }
        return initSystem.configDescription(serviceScript: script) + daemonJSON.note
    }

    /// On hosts whose init script passes dockerd's flags through a shell, an `--engine-opt` that
    /// the shell would not pass on as one word is refused, naming it (before anything is written
    /// at create).
    func refuseShellUnsafeOptions(
        _ name: String, _ engine: EngineSettings, initSystem: InitSystem, probe: HostProbe,
        step: ProvisionStep, resumable: Bool
    ) throws {
        guard initSystem.passesOptionsThroughShell,
            let bad = EngineConfigRenderer.firstShellUnsafeArgument(engine.options.map(EngineConfigRenderer.engineOptFlag))
        else { return }
        let file = initSystem.configPath(serviceScript: InitSystem.ServiceScript(probed: probe.dockerServiceScript)) ?? "its configuration"
        let e = ShellUnsafeEngineOption(argument: bad, initSystem: initSystem.rawValue, file: file)
        throw ProvisionError(machine: name, step: step, reason: e.description, resumable: resumable, cause: e)
    }
}

/// An engine option that dockerd's init script would pass through a shell (sysvinit, OpenRC).
/// The flag it came from (--engine-opt) is SwockCommands' to name (ErrorReport).
public struct ShellUnsafeEngineOption: CodedError, Equatable {
    /// dockerd's argument as it would be written (`--log-opt=tag=$(x)`).
    public var argument: String
    public var initSystem: String
    /// The file the shell reads the options from.
    public var file: String
    public init(argument: String, initSystem: String, file: String) {
        self.argument = argument
        self.initSystem = initSystem
        self.file = file
    }
    public var code: ErrorCode { "provision.shell-unsafe-engine-option" }
    /// Why it is refused, without the flag's name.
    public var reason: String {
        "on this \(initSystem) host dockerd's options pass through a shell (DOCKER_OPTS, read by \(file)), which would split or run it"
    }
    public var description: String { "engine option \"\(argument)\": \(reason)" }
}
