import SSHKit
import SwockEngine
import SwockRemote
import SwockStore

/// install-certs: the server certificate (reused when still good) on the host and in the store.
extension Provisioner {
    func installCertificates(config: MachineConfig, probe: HostProbe, ssh: any RemoteHost) async throws -> TLSSettings {
        try await ServerCertificates(store: store).install(
            for: config, material: try store.clientMaterial(for: config), ssh: ssh, reuse: true)
    }
}
