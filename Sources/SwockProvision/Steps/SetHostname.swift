import SSHKit
import SwockRemote
import SwockSupport

/// set-hostname: `--hostname` (create) or `provision --hostname`.
extension Provisioner {
    func setHostname(_ hostname: String, ssh: any RemoteHost) async throws {
        guard hostname.range(of: "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", options: .regularExpression) != nil else {
            throw ProvisionError(machine: "", step: .setHostname, reason: "\"\(hostname)\" is not a valid host name", resumable: true)
        }
        try await ssh.runAsRoot(Scripts.setHostname.command(hostname))
    }
}
