import SSHKit
import SwockRemote
import SwockStore

/// detect-os: what the host is (OS release, architecture, init system, dockerd), one probe script.
extension Provisioner {
    func detectOS(_ run: StepRunner, _ ssh: any RemoteHost, resumable: Bool) async throws -> HostProbe {
        let name = run.machine
        do {
            return try await run.timed(.detectOS) {
                let r = try await ssh.exec(HostProbe.command, timeout: limits.probe)
                let p = HostProbe.parse(r.stdoutText)
                let os = p.release.map { $0.prettyName ?? $0.id } ?? "unknown OS"
                return (
                    p, "\(os), \(p.architecture ?? "?"), init \(p.initSystem), \(p.dockerdPath.map { "dockerd at \($0)" } ?? "no dockerd")"
                )
            }
        } catch let e as ProvisionError {
            throw e
        } catch {
            throw ProvisionError(machine: name, step: .detectOS, reason: "\(error)", resumable: resumable, cause: error)
        }
    }
}
