/// Lines of text that came from another program or host. `split(separator: "\n")` misses two
/// kinds of line break such text carries: "\r\n" (a single Character in Swift, so it never
/// equals "\n") and a bare "\r" (dpkg's and apt's progress output). This splits at every one.
extension StringProtocol {
    public func textLines(keepingEmpty: Bool = false) -> [SubSequence] {
        split(omittingEmptySubsequences: !keepingEmpty, whereSeparator: \.isNewline)
    }
}
