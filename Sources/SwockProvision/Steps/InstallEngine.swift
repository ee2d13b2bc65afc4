import SSHKit
import SwockEngine
import SwockRemote
import SwockStore
import SwockSupport

/// install-engine: Docker Engine onto the host the way `EngineInstallPlan` says (already there,
/// the package manager, the install script, or a bundle), then the host probed again.
extension Provisioner {
    /// Returns the host probed after the install, and the step's detail line.
    func installEngine(name: String, config: MachineConfig, probe: HostProbe, ssh: any RemoteHost) async throws -> (HostProbe, String) {
        let plan = try await planInstall(name, probe, config.engine, resumable: true)
        let command: String, how: String
        switch plan {
        case .alreadyInstalled:
            // A package install that was cut off (a killed create) leaves dockerd on disk
            // but its packages unconfigured: finish that first.
            var repaired = ""
            if probe.release.flatMap(OSFamily.detect) == .debian {
                let r = try await ssh.execAsRoot(EngineInstallPlan.debianRepair, timeout: limits.engineInstall)
                if r.stdoutText.contains("repaired") { repaired = " (finished an interrupted package install)" }
            }
            return (probe, "dockerd already present at \(probe.dockerdPath ?? "?")\(repaired)")
        case .packageManager(let family, let cmd):
            (command, how) = (cmd, "with the \(family.rawValue) family's package manager")
        case .script(let url, let cmd):
            (command, how) = (cmd, "with the install script \(url)")
        case .bundle(let bundle):
            let debugLog = logger
            do {
                try await bundle.install(ssh: ssh, initSystem: InitSystem(probed: probe.initSystem)) { debugLog.debug("install: \($0)") }
            } catch let e as EngineBundle.Unusable {
                throw ProvisionError(machine: name, step: .installEngine, reason: e.description, resumable: true, cause: e)
            }
            (command, how) = ("", "from \(bundle.summary)")
        }
        if !command.isEmpty { try await runInstall(command, ssh: ssh) }
        let again = HostProbe.parse(try await ssh.exec(HostProbe.command, timeout: limits.probe).stdoutText)
        guard let path = again.dockerdPath else {
            throw ProvisionError(
                machine: name, step: .installEngine, reason: "the install finished but dockerd is not on the host", resumable: true)
        }
        return (again, "installed \(how), dockerd at \(path)")
    }

    /// How the engine gets onto this host; a host it cannot get onto is a `ProvisionError`
    /// (at check-bundle/detect-os before the record exists, at install-engine after).
    func planInstall(_ name: String, _ probe: HostProbe, _ engine: EngineSettings, resumable: Bool) async throws -> EngineInstallPlan {
        let family = probe.release.flatMap(OSFamily.detect)
        var bundle: EngineBundle?
        if let path = engine.installBundle, probe.dockerdPath == nil {
            do {
                let b = try await EngineBundle.inspect(path)
                try b.check(family: family, machine: probe.architecture, initSystem: InitSystem(probed: probe.initSystem))
                bundle = b
            } catch let e as EngineBundle.Unusable {
                throw ProvisionError(
                    machine: name, step: resumable ? .installEngine : .checkBundle, reason: e.description, resumable: resumable, cause: e)
            }
        }
        do {
            return try EngineInstallPlan.plan(
                release: probe.release, family: family,
                dockerdPresent: probe.dockerdPath != nil, method: engine.install,
                installURL: engine.installURL, hasDnf: probe.hasDnf, bundle: bundle)
        } catch let e as EngineInstallPlan.NotInstallable {
            throw ProvisionError(
                machine: name, step: resumable ? .installEngine : .detectOS, reason: e.description, resumable: resumable, cause: e)
        }
    }

    func runInstall(_ command: String, ssh: any RemoteHost) async throws {
        let tail = OutputTail()
        let log = logger
        let r = try await ssh.execAsRoot(
            command, timeout: limits.engineInstall, collect: false,
            onStdout: { d in
                tail.append(d); log.debug("install: \(String(decoding: d, as: UTF8.self))")
            },
            onStderr: { d in
                tail.append(d); log.debug("install: \(String(decoding: d, as: UTF8.self))")
            })
        guard r.succeeded else {
            let how = r.signal.map { "was killed by SIG\($0)" } ?? "exited with status \(r.exitStatus ?? -1)"
            throw ProvisionError(
                machine: "", step: .installEngine, reason: "the engine install \(how): \(tail.lastLines(4))", resumable: true)
        }
    }
}
