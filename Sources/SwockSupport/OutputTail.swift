import Foundation

/// The last lines of a stream of output (for error messages), bounded in size.
public final class OutputTail: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()

    public init() {}

    public func append(_ d: Data) {
        lock.lock(); defer { lock.unlock() }
        buffer.append(d)
        if buffer.count > 16384 { buffer = buffer.suffix(8192) }
    }

    /// The last `n` lines, led by the first line that names a cause (disk full, permission,
    /// network) when that one scrolled away: "E: Unmet dependencies" is rarely the reason.
    public func lastLines(_ n: Int) -> String {
        lock.lock(); defer { lock.unlock() }
        let lines = String(decoding: buffer, as: UTF8.self).textLines()
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var out = Array(lines.suffix(n))
        let causes = ["No space left on device", "Read-only file system", "Permission denied", "Could not resolve", "Temporary failure"]
        if let cause = lines.first(where: { l in causes.contains { l.contains($0) } }), !out.contains(cause) {
            out.insert(cause, at: 0)
        }
        return out.joined(separator: " | ")
    }
}
