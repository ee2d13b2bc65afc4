/// The one error model. Every error type of the product says what happened as a stable `code`
/// (decisions are made on it and on the type's cases, never on the text), a one-line `message`
/// that names no command or flag, and the error underneath as a value (`cause`).
///
/// What to do next, in the words of the command line ("run `swock-machine provision web1`",
/// "--generic-ssh-key"), is added only by SwockCommands, from these codes and cases.
public protocol CodedError: Error, CustomStringConvertible {
    /// Stable and namespaced by layer: `store.not-found`, `ssh.auth-failed`.
    var code: ErrorCode { get }
    /// The error this one wraps, kept as a value (nil when it is where the failure began).
    var cause: (any Error)? { get }
}

extension CodedError {
    public var cause: (any Error)? { nil }
    /// The one line, without advice.
    public var message: String { description }
}

/// An error whose one line is a sentence that begins with one machine's name ("web3 could not
/// join web1's swarm ..."): a list of machines' failures does not name that machine again.
public protocol MachineSentence: Error {
    /// The machine this case's line begins with; nil when the line does not begin with a name.
    var subject: String? { get }
}

/// A stable, namespaced error code: `layer.what` (`store.not-found`, `provision.check-flags`).
/// The text of a code never changes once written; a new failure gets a new code.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }
}

/// `error` and its causes, outermost first.
public func errorChain(_ error: any Error) -> [any Error] {
    var out: [any Error] = [error]
    var current: any Error = error
    while let next = (current as? any CodedError)?.cause, out.count < 16 {
        out.append(next)
        current = next
    }
    return out
}
