import Foundation
import Testing

/// One lock primitive: Swift 6's `Mutex` (Synchronization), whose guarded state the compiler
/// checks. A Swift file under Sources that uses NSLock, NSRecursiveLock, NSCondition(Lock),
/// os_unfair_lock or a pthread mutex/rwlock in its code (not in a comment or a string) fails this
/// test, and so does an `@unchecked Sendable` without a comment saying why, on the same line or
/// in the comment block just above it: "`@unchecked Sendable`: REASON".
struct LockPrimitiveTests {
    /// Kept on purpose, by file and finding. An entry that no longer occurs fails too.
    static let allowed: [String: String] = [
        "Sources/SSHKit/SSHWorkerThread.swift: NSCondition":
            "a condition variable the session's thread sleeps on until a job comes; Mutex has no wait",
        "Sources/SwockRuntime/PartialLineBudget.swift: NSCondition":
            "a host's thread sleeps on it until unfinished lines of others end; Mutex has no wait",
    ]

    /// Not yet converted, by file and finding. This list may only shrink: each entry fails the
    /// test once it no longer occurs (then drop it).
    /// Entries still to convert (an entry that no longer occurs fails the test): none left.
    static let notYetConverted: Set<String> = []

    @Test func sourcesUseMutexAndSayWhyAnythingIsUnchecked() throws {
        var problems: [String] = []
        var used: Set<String> = []
        for file in try Repo.swiftFiles(under: Repo.root + "/Sources") {
            let relative = String(file.dropFirst(Repo.root.count + 1))
            for finding in LockScan.findings(in: try String(contentsOfFile: file, encoding: .utf8)) {
                let key = "\(relative): \(finding.what)"
                if Self.allowed[key] != nil || Self.notYetConverted.contains(key) {
                    used.insert(key)
                    continue
                }
                problems.append(
                    "\(relative):\(finding.line): \(finding.what): "
                        + (finding.what.hasPrefix("@unchecked")
                            ? "make it Sendable (a Mutex, lets), or say why it cannot be in a comment \"`@unchecked Sendable`: REASON\" just above"
                            : "use Mutex (import Synchronization)"))
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let stale = Set(Self.allowed.keys).union(Self.notYetConverted).subtracting(used).sorted()
        #expect(stale.isEmpty, "no longer found: drop these from the lists: \(stale)")
    }

    // The scan itself: each part catches what it is for.

    @Test func locksInCodeAreFoundNotInCommentsOrStrings() {
        let text = #"""
            import Foundation
            // NSLock in a comment is fine, /* so is os_unfair_lock */
            let message = "no NSLock here"
            let raw = #"nor "NSRecursiveLock" here"#
            let block = """
                pthread_mutex_lock in a string
                """
            final class A { private let lock = NSLock() }
            var m = pthread_mutex_t()
            let c = NSCondition(), r = NSRecursiveLock()
            var u = os_unfair_lock()
            let l = NSConditionLock(condition: 0)
            let notOne = NSLockedThing()
            """#
        let found = LockScan.findings(in: text).map { "\($0.line) \($0.what)" }
        #expect(
            found == [
                "8 NSLock", "9 pthread_mutex", "10 NSCondition", "10 NSRecursiveLock", "11 os_unfair_lock", "12 NSConditionLock",
            ], "\(found)")
    }

    @Test func uncheckedSendableNeedsItsReasonAlongside() {
        let text = #"""
            /// A box.
            ///
            /// `@unchecked Sendable`: its pointer is used only on the worker thread.
            final class Justified: @unchecked Sendable {}

            private struct Inline: @unchecked Sendable { let p: Process }  // `@unchecked Sendable`: Process is thread-safe

            /// A box with a doc comment that says nothing about it.
            final class Unexplained: @unchecked Sendable {}

            /// `@unchecked Sendable`: a reason, but a blank line away.

            final class Detached: @unchecked Sendable {}
            final class Bare: @unchecked Sendable {}
            // "@unchecked Sendable" in a comment is not a use
            let s = "@unchecked Sendable"
            """#
        let found = LockScan.findings(in: text).map { "\($0.line) \($0.what)" }
        let bare = "@unchecked Sendable without a reason"
        #expect(found == ["9 \(bare)", "13 \(bare)", "14 \(bare)"], "\(found)")
    }
}

/// What `LockPrimitiveTests` looks for in Swift source.
enum LockScan {
    struct Finding: Equatable {
        var line: Int
        var what: String
    }

    /// The lock types and C lock families that `Mutex` replaces.
    static var lockPattern: Regex<(Substring, Substring)> {
        #/\b(NSLock|NSRecursiveLock|NSConditionLock|NSCondition|os_unfair_lock|pthread_mutex|pthread_rwlock)(?:\b|_)/#
    }
    static var uncheckedPattern: Regex<Substring> { #/@unchecked\s+Sendable\b/# }
    /// The reason, in a comment: "`@unchecked Sendable`: REASON".
    static var reasonPattern: Regex<Substring> { #/`?@unchecked Sendable`?:\s*\S/# }

    static func findings(in source: String) -> [Finding] {
        let lines = split(source)
        var out: [Finding] = []
        for (i, line) in lines.enumerated() {
            for m in line.code.matches(of: lockPattern) {
                out.append(Finding(line: i + 1, what: String(m.output.1)))
            }
            guard line.code.contains(uncheckedPattern) else { continue }
            // Its reason: on this line, or in the comment lines right above it.
            var comments = [line.comment]
            var j = i - 1
            while j >= 0, lines[j].code.allSatisfy(\.isWhitespace), !lines[j].comment.isEmpty {
                comments.append(lines[j].comment)
                j -= 1
            }
            if !comments.contains(where: { $0.contains(reasonPattern) }) {
                out.append(Finding(line: i + 1, what: "@unchecked Sendable without a reason"))
            }
        }
        return out
    }

    /// Each line of Swift source as its code (string literals and comments blanked out) and its
    /// comment text.
    static func split(_ source: String) -> [(code: String, comment: String)] {
        let s = Array(source.unicodeScalars)
        var lines: [(code: String, comment: String)] = []
        var code = String.UnicodeScalarView(), comment = String.UnicodeScalarView()
        var i = 0
        var blockDepth = 0
        /// Inside a string literal: its closing delimiter (`"`, `"""`, `"#`, `"""#`).
        var closing: String?
        func at(_ k: Int, _ p: String) -> Bool {
            let u = Array(p.unicodeScalars)
            return k + u.count <= s.count && Array(s[k..<k + u.count]) == u
        }
        func endLine() {
            lines.append((String(code), String(comment)))
            code = String.UnicodeScalarView()
            comment = String.UnicodeScalarView()
        }
        while i < s.count {
            let c = s[i]
            if c == "\n" {
                endLine()
                i += 1
                continue
            }
            if blockDepth > 0 {
                if at(i, "*/") {
                    blockDepth -= 1
                    i += 2
                } else if at(i, "/*") {
                    blockDepth += 1
                    i += 2
                } else {
                    comment.append(c)
                    i += 1
                }
                continue
            }
            if let end = closing {
                if c == "\\" && !end.hasSuffix("#") && i + 1 < s.count && s[i + 1] != "\n" {
                    i += 2
                } else if at(i, end) {
                    closing = nil
                    i += end.unicodeScalars.count
                    code.append("\"")
                } else {
                    i += 1
                }
                continue
            }
            if at(i, "//") {
                while i < s.count && s[i] != "\n" {
                    comment.append(s[i])
                    i += 1
                }
                continue
            }
            if at(i, "/*") {
                blockDepth = 1
                i += 2
                continue
            }
            for (open, close) in [("#\"\"\"", "\"\"\"#"), ("#\"", "\"#"), ("\"\"\"", "\"\"\""), ("\"", "\"")] where at(i, open) {
                closing = close
                i += open.unicodeScalars.count
                code.append("\"")
                break
            }
            if closing != nil { continue }
            code.append(c)
            i += 1
        }
        endLine()
        return lines
    }
}
