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

extension Store {
    /// The variables that point a docker client at a machine (what `env` prints, what the
    /// `docker` fan-out sets), in docker-machine's order.
    public func dockerEnvironment(_ config: MachineConfig) -> [(String, String)] {
        [
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_HOST", config.engineURL),
            ("DOCKER_CERT_PATH", machineDir(config.name)),
            ("DOCKER_MACHINE_NAME", config.name),
        ]
    }

    /// The names `dockerEnvironment` sets.
    public static let dockerEnvironmentKeys = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"]
}
