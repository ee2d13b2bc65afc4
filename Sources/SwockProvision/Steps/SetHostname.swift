import SSHKit
import SwockRemote
import SwockSupport

/// set-hostname: `--hostname` (create) or `provision --hostname`.
extension Provisioner {
    func setHostname(_ hostname: String, ssh: any RemoteHost) async throws {
        guard hostname.range(of: "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", options: .regularExpression) != nil else {
            throw ProvisionError(machine: "", step: .setHostname, reason: "\"\(hostname)\" is not a valid host name", resumable: true)
        }
        let q = ShellQuote.quote(hostname)
        try await ssh.runAsRoot("""
            (hostnamectl set-hostname \(q) 2>/dev/null || hostname \(q)) && echo \(q) > /etc/hostname && \
            (grep -q "127.0.1.1" /etc/hosts && sed -i "s/^127.0.1.1.*/127.0.1.1 \(hostname)/" /etc/hosts || echo "127.0.1.1 \(hostname)" >> /etc/hosts)
            """)
    }
}
