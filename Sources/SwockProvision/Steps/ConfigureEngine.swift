import Foundation
import SSHKit
import SwockEngine
import SwockRemote
import SwockStore

/// configure-engine: daemon.json adopted, our init-system configuration in place, one restart.
extension Provisioner {
    func configureEngine(config: MachineConfig, probe: HostProbe, ssh: any RemoteHost) async throws -> String {
        guard let dockerd = probe.dockerdPath else {
            throw ProvisionError(machine: config.name, step: .configureEngine, reason: "dockerd is not on the host", resumable: true)
        }
        // live-restore goes into daemon.json (DaemonJSON), so the running daemon has it too.
        let daemonJSON = try await DaemonJSON.adoption(ssh: ssh)
        let initSystem = InitSystem(probed: probe.initSystem)
        let launch = DaemonLaunch(config, dockerdPath: dockerd,
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
            applied = try await ssh.execAsRoot(apply, timeout: ProvisionTimeouts.configure)
        } else {
            applied = try await ssh.installAsRoot(files, before: keep.isEmpty ? nil : keep.joined(separator: "\n"), then: apply,
                                                  timeout: ProvisionTimeouts.configure)!
        }
        guard applied.succeeded else {
            throw ProvisionError(machine: config.name, step: .configureEngine,
                                 reason: "dockerd did not start with the new configuration; daemon log: \(await EngineReadiness.daemonLog(ssh: ssh, initSystem: initSystem))",
                                 resumable: true)
        }
        return initSystem.configDescription(serviceScript: script) + daemonJSON.note
    }
}
