import SwockStore

/// A provisioning step that failed, with what to do next.
public struct ProvisionError: Error, CustomStringConvertible, Equatable {
    public var machine: String
    public var step: ProvisionStep
    public var reason: String
    /// False for failures before the record was written (the store is as it was).
    public var resumable: Bool
    /// "create" or "provision": what the user ran.
    public var operation: String

    public init(machine: String, step: ProvisionStep, reason: String, resumable: Bool, operation: String = "create") {
        self.machine = machine
        self.step = step
        self.reason = reason
        self.resumable = resumable
        self.operation = operation
    }

    public var description: String {
        let next = resumable ? "; fix the cause, then run `swock-machine provision \(machine)` to resume" : ""
        return "\(operation) \(machine): \(step) failed: \(reason)\(next)"
    }
}

/// Where provisioning reports each finished step.
public protocol ProvisionProgress: Sendable {
    func stepFinished(machine: String, step: ProvisionStep, detail: String, seconds: Double)
    func stepStarted(machine: String, step: ProvisionStep)
    /// A line a step's own program printed (a provision script's output).
    func output(machine: String, step: ProvisionStep, line: String)
}

extension ProvisionProgress {
    public func output(machine: String, step: ProvisionStep, line: String) {}
}
