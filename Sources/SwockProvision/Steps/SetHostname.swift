import SSHKit
import SwockRemote
import SwockSupport

/// set-hostname: `--hostname` (create) or `provision --hostname`.
extension Provisioner {
    func setHostname(_ hostname: String, ssh: any RemoteHost) async throws {
        guard hostname.utf8.count <= 63, let first = hostname.utf8.first, NameCharacters(lettersDigitsAnd: "").allows(first),
            NameCharacters(lettersDigitsAnd: ".-").accepts(hostname)
        else {
            throw ProvisionError(machine: "", step: .setHostname, reason: "\"\(hostname)\" is not a valid host name", resumable: true)
        }
        try await ssh.runAsRoot(Scripts.setHostname.command(hostname))
    }
}
