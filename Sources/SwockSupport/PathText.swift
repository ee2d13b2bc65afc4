/// Splitting paths as text. Foundation's `NSString.deletingLastPathComponent` traps on a
/// relative path without a slash ("ab") in corelibs Foundation 6.3, so we never use it.
public enum PathText {
    /// "/a/b" -> "/a", "/a" -> "/", "a/b" -> "a", "b" -> ".", "a/b/" -> "a"
    public static func parent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        if slash == p.startIndex { return "/" }
        return String(p[..<slash])
    }

    /// "/a/b" -> "b", "b" -> "b", "a/b/" -> "b", "/" -> "/"
    public static func lastComponent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/"), p.count > 1 else { return String(p) }
        return String(p[p.index(after: slash)...])
    }
}
