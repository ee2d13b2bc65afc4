import SSHKit
import SwockRemote
import SwockStore

/// check-root: we are root, or sudo works (passwordless, or with the given password).
extension Provisioner {
    func checkRoot(_ run: StepRunner, _ ssh: any RemoteHost, resumable: Bool) async throws {
        let name = run.machine
        do {
            try await run.timed(.checkRoot) {
                let access = try await ssh.rootAccess()
                switch access {
                case .loggedInAsRoot: return ((), "logged in as root")
                case .sudo: return ((), "passwordless sudo works for \(ssh.target.user)")
                case .sudoWithPassword: return ((), "sudo with the given password works for \(ssh.target.user)")
                }
            }
        } catch {
            throw ProvisionError(machine: name, step: .checkRoot, reason: "\(error)", resumable: resumable, cause: error)
        }
    }
}
