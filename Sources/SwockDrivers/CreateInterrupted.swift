import Foundation
import SwockStore
import SwockSupport

/// A driver's `create()` that failed after the driver may have made (part of) the host: a plugin
/// that crashed, hung or answered an error in its Create, or whose answers after it failed.
/// Whatever it made may still exist, so the record is kept (unfinished) for `provision` to go on
/// and `rm` to remove it through the driver. `options`: the driver's settings as far as known
/// (a plugin's GetConfigRaw when it still answered, else what it was given), for that record.
///
/// A create that fails with any other error has left nothing: the driver made nothing, or took
/// back what it made (qemu kills and deletes a VM that never brings up SSH).
public struct CreateInterrupted: CodedError {
    public var driver: String
    public var options: DriverOptions
    public var underlying: any Error

    public init(driver: String, options: DriverOptions, underlying: any Error) {
        self.driver = driver
        self.options = options
        self.underlying = underlying
    }

    public var code: ErrorCode { "driver.create-interrupted" }
    public var cause: (any Error)? { underlying }
    public var description: String { "the \(driver) driver's create did not finish: \(underlying)" }
}
