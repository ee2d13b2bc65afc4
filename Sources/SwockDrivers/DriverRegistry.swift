import Foundation
import SwockStore

/// Finds the driver a record names. Records written before drivers existed say "generic".
public enum DriverRegistry {
    /// The drivers built into swock-machine; any other name is looked up as a
    /// `docker-machine-driver-NAME` plugin on PATH.
    public static let builtIn = ["generic"]

    public static func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver {
        switch config.driver {
        case "generic":
            return GenericDriver(config: config)
        default:
            // Any other name: a Docker Machine plugin, docker-machine-driver-NAME on PATH.
            return try PluginDriver(config: config, store: store)
        }
    }
}
