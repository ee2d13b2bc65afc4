import Foundation
import SwockStore

/// Finds the driver a record names. Records written before drivers existed say "generic".
public enum DriverRegistry {
    /// The drivers built into swock-machine; any other name is looked up as a
    /// `docker-machine-driver-NAME` plugin on PATH.
    public static let builtIn = ["generic", "qemu"]

    public static func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver {
        switch config.driver {
        case "generic":
            return GenericDriver(config: config)
        case "qemu":
            return try QemuDriver(config: config, store: store)
        default:
            let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
            throw DriverError.unknownDriver(name: config.driver, searched: path.split(separator: ":").map(String.init))
        }
    }
}
