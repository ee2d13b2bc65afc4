import EngineAPI
import SSHKit
import SwockEngine
import SwockRemote
import SwockStore

/// wait-engine: dockerd answers `/version` over mutual TLS within `engineWait`.
extension Provisioner {
    func waitForEngine(config: MachineConfig, probe: HostProbe, ssh: any RemoteHost) async throws -> EngineVersion {
        var config = config
        config.host?.initSystem = probe.initSystem
        return try await EngineReadiness(store: store, within: limits.scaled(engineWait)).waitForTLS(config, ssh: ssh)
    }
}
