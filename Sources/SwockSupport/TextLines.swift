/// Lines of text that came from another program or host. `split(separator: "\n")` misses two
/// kinds of line break such text carries: "\r\n" (a single Character in Swift, so it never
/// equals "\n") and a bare "\r" (dpkg's and apt's progress output). This splits at every one.
extension StringProtocol {
    public func textLines(keepingEmpty: Bool = false) -> [SubSequence] {
        split(omittingEmptySubsequences: !keepingEmpty, whereSeparator: \.isNewline)
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace and line breaks (Character.isWhitespace), trimmed
    /// by hand: Foundation's `trimmingCharacters(in:)` with a CharacterSet sets up its Unicode
    /// tables first, a cost that the verbs which read one small file and print should not pay.
    public func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
