import Foundation
import Synchronization

/// The last lines of a stream of output (for error messages), bounded in size.
public final class OutputTail: Sendable {
    private let buffer = Mutex(Data())

    public init() {}

    public func append(_ d: Data) {
        buffer.withLock { buffer in
            buffer.append(d)
            if buffer.count > 16384 { buffer = buffer.suffix(8192) }
        }
    }

    /// The last `n` lines, led by the first line that names a cause (disk full, permission,
    /// network) when that one scrolled away: "E: Unmet dependencies" is rarely the reason.
    public func lastLines(_ n: Int) -> String {
        let text = buffer.withLock { String(decoding: $0, as: UTF8.self) }
        let lines = text.textLines()
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var out = Array(lines.suffix(n))
        let causes = ["No space left on device", "Read-only file system", "Permission denied", "Could not resolve", "Temporary failure"]
        if let cause = lines.first(where: { l in causes.contains { l.contains($0) } }), !out.contains(cause) {
            out.insert(cause, at: 0)
        }
        return out.joined(separator: " | ")
    }
}
