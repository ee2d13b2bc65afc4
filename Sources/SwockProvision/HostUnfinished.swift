import SwockSupport

/// A driver's create that did not finish after the driver may have made the host (a plugin that
/// crashed, hung or failed in its Create): the record is kept, unfinished at create-host, with
/// what the driver knew. `provision` asks the driver again; `rm` has it remove what it made.
public struct HostUnfinished: CodedError {
    public var machine: String
    public var driver: String
    /// "create" or "provision": what the user ran.
    public var operation: String
    public var underlying: any Error

    public init(machine: String, driver: String, operation: String, underlying: any Error) {
        self.machine = machine
        self.driver = driver
        self.operation = operation
        self.underlying = underlying
    }

    public var code: ErrorCode { "provision.host-unfinished" }
    public var cause: (any Error)? { underlying }
    public var description: String {
        "\(operation) \(machine): \(underlying); the \(driver) driver may have made the host, so the record is kept as unfinished"
    }
}
