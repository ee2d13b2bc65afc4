import EngineAPI
import Foundation

extension Store {
    /// Where a machine's daemon answers, with the TLS files a client needs (the machine's own
    /// directory, DOCKER_CERT_PATH).
    public func engineEndpoint(_ config: MachineConfig) -> EngineEndpoint {
        EngineEndpoint(host: config.address, port: config.engine.port,
                       tls: TLSFiles(directory: machineDir(config.name)), machineName: config.name)
    }
}
