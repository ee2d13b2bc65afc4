import SwockStore
import SwockSupport

/// A provisioning step that failed. What to do next ("run `swock-machine provision NAME`") is
/// added by SwockCommands from `resumable` and the cause.
public struct ProvisionError: Error, CustomStringConvertible, Equatable {
    public var machine: String
    public var step: ProvisionStep
    public var reason: String
    /// False for failures before the record was written (the store is as it was).
    public var resumable: Bool
    /// "create" or "provision": what the user ran.
    public var operation: String
    /// The error the step failed with, kept as a value (`reason` is its text).
    public var cause: (any Error)?

    public init(
        machine: String, step: ProvisionStep, reason: String, resumable: Bool, operation: String = "create",
        cause: (any Error)? = nil
    ) {
        self.machine = machine
        self.step = step
        self.reason = reason
        self.resumable = resumable
        self.operation = operation
        self.cause = cause
    }

    public var description: String {
        "\(operation) \(machine): \(step) failed: \(reason)"
    }

    /// Equal when everything but the cause is (the cause's text is `reason`).
    public static func == (a: ProvisionError, b: ProvisionError) -> Bool {
        a.machine == b.machine && a.step == b.step && a.reason == b.reason && a.resumable == b.resumable && a.operation == b.operation
    }
}

extension ProvisionError: CodedError {
    public var code: ErrorCode { step == .checkFlags ? "provision.check-flags" : "provision.step-failed" }
}

/// What is wrong with a create request's own values, found before any host is contacted. The
/// descriptions name the values, not the flags or keys they came from; SwockCommands words them
/// for the command line.
public enum CreateProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case missingAddress
    case badAddress(String)
    case sshPortOutOfRange(Int)
    case enginePortOutOfRange(Int)
    case sshKeyUnreadable(path: String, exists: Bool)
    case badSAN(String, reason: String)
    case badLabel(String)
    case badFingerprint(String)
    case strictNeedsExpectedKey
    case strictNeedsJumpHostKeys
    case knownHostsUnreadable(file: String, exists: Bool)
    case knownHostsLacksHost(file: String, host: String)
    case knownHostsLacksJumpHost(file: String, host: String)

    public var description: String {
        switch self {
        case .missingAddress: return "the server's IP address or host name is missing"
        case .badAddress(let a): return "address \"\(a)\" is not an IP address or host name"
        case .sshPortOutOfRange(let p): return "SSH port \(p) is out of range 1-65535"
        case .enginePortOutOfRange(let p): return "engine port \(p) is out of range 1-65535"
        case .sshKeyUnreadable(let k, let exists): return "SSH key \(k): \(exists ? "permission denied" : "no such file")"
        case .badSAN(let san, let reason): return "extra certificate name \"\(san)\": \(reason)"
        case .badLabel(let k): return "label \"\(k)\": expected key=value"
        case .badFingerprint(let fp): return "host key fingerprint \"\(fp)\": expected SHA256: and 43 base64 characters"
        case .strictNeedsExpectedKey: return "strict host key checking needs the expected host key"
        case .strictNeedsJumpHostKeys: return "strict host key checking through jump hosts needs the jump hosts' keys too"
        case .knownHostsUnreadable(let f, let exists): return "known hosts file \(f): \(exists ? "cannot read it" : "no such file")"
        case .knownHostsLacksHost(let f, let h): return "known hosts file \(f) has no key for \(h) (plain or hashed)"
        case .knownHostsLacksJumpHost(let f, let h): return "known hosts file \(f) has no key for the jump host \(h)"
        }
    }
}

extension CreateProblem: CodedError {
    public var code: ErrorCode { "provision.invalid-request" }
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
