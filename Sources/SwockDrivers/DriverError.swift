import Foundation
import SwockSupport

/// What a driver can fail with. Causes are values, never text to be matched.
public enum DriverError: Error, Sendable, Equatable {
    /// No driver of this name: not built in, and no `docker-machine-driver-NAME` on PATH.
    case unknownDriver(name: String, builtIn: [String], searched: [String])
    /// The driver does not own the host, so it cannot power it (generic, none).
    case notOwned(driver: String, operation: String)
    /// The record's driver options could not be read as this driver's.
    case badOptions(driver: String, detail: String)
    /// A flag this driver does not declare (`known`: the ones it does, with their dashes).
    case unknownFlag(driver: String, flag: String, known: [String])
    /// A flag (or its environment variable) with a value of the wrong kind.
    case badFlagValue(driver: String, flag: String, value: String, expected: String)
    /// A flag that takes a value came last.
    case flagNeedsValue(driver: String, flag: String)
    /// A flag the driver needs was not given.
    case missingFlag(driver: String, flag: String, why: String)
    /// A flag's value is not usable (`why`: what is wrong and what to give instead).
    case invalidFlag(driver: String, flag: String, value: String, why: String)
    /// A file a flag names cannot be read.
    case unreadableFile(driver: String, flag: String, path: String, detail: String)
    /// The endpoint the driver was given does not answer as a Docker daemon should.
    case endpointRefused(driver: String, url: String, detail: String)
    /// The driver's host operation failed (a VM that does not boot, a plugin's error).
    case operationFailed(driver: String, operation: String, detail: String)
}

extension DriverError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unknownDriver(let name, let builtIn, let searched):
            return
                "no driver \"\(name)\": the built-in ones are \(builtIn.joined(separator: ", ")), and there is no docker-machine-driver-\(name) in \(searched.isEmpty ? "PATH (empty)" : searched.joined(separator: ":")); install that plugin on PATH or pick a built-in driver"
        case .notOwned(let driver, let op):
            return "the \(driver) driver does not own the host, so it cannot \(op) it"
        case .badOptions(let driver, let detail):
            return "the record's \(driver) driver options are unreadable: \(detail)"
        case .unknownFlag(let driver, let flag, let known):
            return
                "\(flag) is not a flag of the \(driver) driver; its flags are: \(known.isEmpty ? "(none)" : known.joined(separator: " "))"
        case .badFlagValue(let driver, let flag, let value, let expected):
            return "\(flag) \"\(value)\" (\(driver) driver): expected \(expected)"
        case .flagNeedsValue(let driver, let flag):
            return "\(flag) (\(driver) driver) needs a value"
        case .missingFlag(let driver, let flag, let why):
            return "the \(driver) driver needs \(flag): \(why)"
        case .invalidFlag(let driver, let flag, let value, let why):
            return "\(flag) \"\(value)\" (\(driver) driver): \(why)"
        case .unreadableFile(let driver, let flag, let path, let detail):
            return "\(flag) \(path) (\(driver) driver): \(detail); give a readable file"
        case .endpointRefused(let driver, let url, let detail):
            return "\(url) (\(driver) driver) cannot be used: \(detail); nothing was written"
        case .operationFailed(let driver, let op, let detail):
            return "the \(driver) driver could not \(op) the host: \(detail)"
        }
    }
}

extension DriverError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .unknownDriver: return "driver.unknown-driver"
        case .notOwned: return "driver.not-owned"
        case .badOptions: return "driver.bad-options"
        case .unknownFlag: return "driver.unknown-flag"
        case .badFlagValue: return "driver.bad-flag-value"
        case .flagNeedsValue: return "driver.flag-needs-value"
        case .missingFlag: return "driver.missing-flag"
        case .invalidFlag: return "driver.invalid-flag"
        case .unreadableFile: return "driver.unreadable-file"
        case .endpointRefused: return "driver.endpoint-refused"
        case .operationFailed: return "driver.operation-failed"
        }
    }
}
