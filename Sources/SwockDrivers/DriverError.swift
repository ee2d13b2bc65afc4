import SwockSupport
import Foundation

/// What a driver can fail with. Causes are values, never text to be matched.
public enum DriverError: Error, Sendable, Equatable {
    /// No driver of this name: not built in, and no `docker-machine-driver-NAME` on PATH.
    case unknownDriver(name: String, searched: [String])
    /// The driver does not own the host, so it cannot power it (generic, none).
    case notOwned(driver: String, operation: String)
    /// The record's driver options could not be read as this driver's.
    case badOptions(driver: String, detail: String)
}

extension DriverError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unknownDriver(let name, let searched):
            return "no driver \"\(name)\": not built in, and no docker-machine-driver-\(name) in \(searched.joined(separator: ":"))"
        case .notOwned(let driver, let op):
            return "the \(driver) driver does not own the host, so it cannot \(op) it"
        case .badOptions(let driver, let detail):
            return "the record's \(driver) driver options are unreadable: \(detail)"
        }
    }
}

extension DriverError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .unknownDriver: return "driver.unknown-driver"
        case .notOwned: return "driver.not-owned"
        case .badOptions: return "driver.bad-options"
        }
    }
}
