import Foundation
import SwockStore

/// One side of a copy: a local path or a path on a machine.
public enum CopyLocation: Hashable, Sendable, CustomStringConvertible {
    case local(String)
    /// `path` is relative to the login user's home unless it starts with "/".
    case remote(machine: String, path: String)

    /// `NAME:path` is a machine path when NAME is a valid machine name (so nothing before the
    /// first colon contains "/"); anything else is local: `./a:b`, `/abs/a:b`, `:x`, `a_b:c`.
    /// On a machine, "" and "~" mean the home directory and "~/x" means "x".
    public static func parse(_ arg: String) -> CopyLocation {
        guard let colon = arg.unicodeScalars.firstIndex(of: ":") else { return .local(arg) }
        let name = String(arg.unicodeScalars[..<colon])
        guard (try? MachineName.validate(name)) != nil else { return .local(arg) }
        var path = String(arg.unicodeScalars[arg.unicodeScalars.index(after: colon)...])
        if path.isEmpty || path.isPath("~") {
            path = "."
        } else if path.hasPathPrefix("~/") {
            path = String(path.unicodeScalars.dropFirst(2))
            if path.isEmpty { path = "." }
        }
        // The upload's final `mv` goes through a shell: never let a path look like an option.
        if path.hasPathPrefix("-") { path = "./" + path }
        return .remote(machine: name, path: path)
    }

    public var path: String {
        switch self {
        case .local(let p), .remote(_, let p): return p
        }
    }

    public var machine: String? {
        if case .remote(let m, _) = self { return m }
        return nil
    }

    public var description: String {
        switch self {
        case .local(let p): return p
        case .remote(let m, let p): return "\(m):\(p)"
        }
    }

    public func with(path: String) -> CopyLocation {
        switch self {
        case .local: return .local(path)
        case .remote(let m, _): return .remote(machine: m, path: path)
        }
    }

    /// The location of `name` inside this directory.
    public func appending(_ name: String) -> CopyLocation {
        let p = path
        let joined: String
        if p.isPath(".") && machine != nil {
            joined = name.hasPathPrefix("-") ? "./" + name : name
        } else if p.unicodeScalars.last == "/" {
            joined = p + name
        } else {
            joined = p + "/" + name
        }
        return with(path: joined)
    }

    /// The directory holding this path ("." for a bare name).
    public var parent: CopyLocation {
        let trimmed = CopyPlan.trimmingTrailingSlashes(path)
        if trimmed.isPath("/") { return with(path: "/") }
        guard let slash = trimmed.unicodeScalars.lastIndex(of: "/") else { return with(path: ".") }
        let head = String(trimmed.unicodeScalars[..<slash])
        return with(path: head.isEmpty ? "/" : head)
    }

    /// The last path component; "/" for the root, "." for the home directory.
    public var baseName: String {
        let trimmed = CopyPlan.trimmingTrailingSlashes(path)
        if trimmed.isPath("/") || trimmed.isEmpty { return trimmed.isEmpty ? "." : "/" }
        return trimmed.unicodeScalars.split(separator: "/").last.map { String($0) } ?? trimmed
    }
}

/// What is at a path (symlinks followed unless said otherwise).
public struct CopyFileInfo: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case file, directory, symlink, other }
    public var kind: Kind
    public var mode: UInt32
    public var size: UInt64

    public init(_ kind: Kind, mode: UInt32 = 0o644, size: UInt64 = 0) {
        self.kind = kind
        self.mode = mode
        self.size = size
    }
}

/// Why a copy cannot go ahead; each description is one line.
public enum CopyError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSuchFile(String)
    case permissionDenied(String)
    case notADirectory(String)
    case isADirectory(String)
    case notARegularFile(String)
    case overwriteDirectoryWithFile(String)
    case overwriteFileWithDirectory(String)
    case intoItself(source: String, target: String)
    case bothLocal(String, String)
    case failed(String, reason: String)
    case interrupted
    /// A directory listing gave a name that cannot be a path component here.
    case unsafeName(directory: String, name: String, reason: String)
    /// The copy was about to write through a symlink it made itself.
    case throughOwnLink(String)

    public var description: String {
        switch self {
        case .noSuchFile(let p): return "\"\(p)\": no such file or directory"
        case .permissionDenied(let p): return "\"\(p)\": permission denied"
        case .notADirectory(let p): return "\"\(p)\": not a directory"
        case .isADirectory(let p): return "\"\(p)\" is a directory; pass -r to copy directories"
        case .notARegularFile(let p): return "\"\(p)\" is not a regular file or directory"
        case .overwriteDirectoryWithFile(let p): return "cannot overwrite directory \"\(p)\" with a file"
        case .overwriteFileWithDirectory(let p): return "cannot overwrite non-directory \"\(p)\" with a directory"
        case .intoItself(let s, let t): return "cannot copy \"\(s)\" into itself (\"\(t)\")"
        case .bothLocal(let s, let d):
            return "\"\(s)\" and \"\(d)\" are both local; one side must be NAME:path (use cp for local copies)"
        case .failed(let p, let reason): return "\"\(p)\": \(reason)"
        case .interrupted: return "interrupted; no partial file was left behind"
        case .unsafeName(let dir, let name, let reason):
            return
                "\"\(dir)\" lists an unsafe name \"\(StoreError.printable(name))\" (\(reason)); the copy stopped there and nothing was written outside the destination: the host's SFTP server is broken or hostile"
        case .throughOwnLink(let p):
            return "\"\(p)\" is a symlink this copy made; refusing to write through it (the source tree lists that name twice)"
        }
    }
}

/// One top-level copy: `source` (a file, or with -r a directory tree) becomes `target`.
public struct CopyItem: Sendable, Equatable {
    public var source: CopyLocation
    public var target: CopyLocation
    public var info: CopyFileInfo

    public init(source: CopyLocation, target: CopyLocation, info: CopyFileInfo) {
        self.source = source
        self.target = target
        self.info = info
    }
}

/// Decides what goes where, like cp/scp, from what is at the paths. Pure: the runner looks the
/// paths up and passes their kinds in.
public enum CopyPlan {
    /// - Parameters:
    ///   - sources: each source with what is there (symlinks followed; nil when missing).
    ///   - destination: the destination, with what is there and what is at its parent.
    public static func make(
        sources: [(CopyLocation, CopyFileInfo?)],
        destination: CopyLocation, destinationInfo: CopyFileInfo?, parentInfo: CopyFileInfo?,
        recursive: Bool
    ) throws -> [CopyItem] {
        for (src, info) in sources {
            if src.machine == nil && destination.machine == nil { throw CopyError.bothLocal(src.description, destination.description) }
            guard let info else { throw CopyError.noSuchFile(src.description) }
            switch info.kind {
            case .file: break
            case .directory: if !recursive { throw CopyError.isADirectory(src.description) }
            case .symlink, .other: throw CopyError.notARegularFile(src.description)
            }
        }
        let destIsDir = destinationInfo?.kind == .directory
        if sources.count > 1 && !destIsDir {
            throw CopyError.notADirectory(destination.description)
        }
        if destinationInfo == nil {
            guard let parentInfo else { throw CopyError.noSuchFile(destination.parent.description) }
            guard parentInfo.kind == .directory else { throw CopyError.notADirectory(destination.parent.description) }
        }
        return try sources.map { src, info in
            let info = info!
            let target: CopyLocation
            if destIsDir {
                let base = src.baseName
                // "NAME:" (the home directory), "." or "/" copy their contents into the directory.
                target = (base == "." || base == ".." || base == "/") ? destination : destination.appending(base)
            } else {
                target = destination
                if let d = destinationInfo, d.kind != .file {
                    throw CopyError.notARegularFile(destination.description)
                }
                if destinationInfo?.kind == .file && info.kind == .directory {
                    throw CopyError.overwriteFileWithDirectory(destination.description)
                }
                if destinationInfo == nil && info.kind == .file && destination.path.unicodeScalars.last == "/" {
                    throw CopyError.notADirectory(destination.description)
                }
            }
            if info.kind == .directory, src.machine != nil, src.machine == target.machine,
                isInside(target.path, src.path)
            {
                throw CopyError.intoItself(source: src.description, target: target.description)
            }
            return CopyItem(source: src, target: target, info: info)
        }
    }

    /// The entries of a directory listing that a copy may use, sorted by name; `directory`
    /// names the listed directory in errors. The listing is the other side's word (a hostile
    /// SFTP server chooses it, CVE-2019-6111), so every name must be one path component: a
    /// name that is empty, contains "/" or NUL, or is "." or ".." (beyond the directory's own
    /// two entries, listed once each as directories, which are dropped), or that is listed
    /// twice, stops the copy before anything of this directory is written.
    public static func checkedEntries(_ listing: [(String, CopyFileInfo)], in directory: String) throws -> [(String, CopyFileInfo)] {
        var seen = Set<String>()
        var out: [(String, CopyFileInfo)] = []
        for (name, info) in listing {
            let reason: String?
            if name.isEmpty {
                reason = "it is empty"
            } else if name.unicodeScalars.contains("/") {
                reason = "it contains \"/\""
            } else if name.utf8.contains(0) {
                reason = "it contains a NUL byte"
            } else if !seen.insert(name).inserted {
                reason = "it is listed twice"
            } else if name.isPath(".") || name.isPath("..") {
                reason = info.kind == .directory ? nil : "it is \"\(name)\" but not a directory"
                if reason == nil { continue }
            } else {
                reason = nil
            }
            if let reason { throw CopyError.unsafeName(directory: directory, name: name, reason: reason) }
            out.append((name, info))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// What a copy has made so far under the root of one copied tree, by path relative to it
    /// ("" is the root itself, "a/b" two levels down): the directories it made or went into,
    /// and the symlinks it made with their targets.
    public struct CopiedTree: Sendable, Equatable {
        public var directories: Set<String> = [""]
        public var links: [String: String] = [:]
        public init() {}
    }

    /// True when a symlink at `path` (its components below the root of a copied tree) with
    /// `target` leads somewhere inside the tree: such a link is recreated as it is; other links
    /// are followed (see CopyRunner).
    ///
    /// The target is resolved, not compared as text: every symlink the copy already made is
    /// followed (`y -> .` makes `x -> y/..` point above the root), and ".." is taken only out
    /// of a directory the copy made or went into, never out of a name that is not one yet (it
    /// could become a symlink later in the copy: `x -> zz/..` made before `zz -> .`). By
    /// induction every link the copy makes stays inside, whatever order they come in.
    public static func linkStaysInside(_ target: String, at path: [String], tree: CopiedTree) -> Bool {
        guard !target.isEmpty, !target.hasPathPrefix("/"), !target.utf8.contains(0) else { return false }
        var here = Array(path.dropLast())
        var todo = target.pathComponents.reversed() as [String]
        var hops = 0
        while let part = todo.popLast() {
            switch part {
            case let p where p.isPath("."): continue
            case let p where p.isPath(".."):
                guard !here.isEmpty, tree.directories.contains(here.joined(separator: "/")) else { return false }
                here.removeLast()
            default:
                here.append(part)
                if let next = tree.links[here.joined(separator: "/")] {
                    hops += 1
                    guard hops <= 40, !next.isEmpty, !next.hasPathPrefix("/") else { return false }
                    here.removeLast()
                    todo.append(contentsOf: next.pathComponents.reversed())
                }
            }
        }
        return true
    }

    /// Whether `path` is `dir` or below it (textually, after dropping empty and "." components).
    static func isInside(_ path: String, _ dir: String) -> Bool {
        let p = normalized(path), d = normalized(dir)
        if d.isPath(".") { return !p.hasPathPrefix("/") }
        return p.isPath(d) || p.hasPathPrefix(d.isPath("/") ? "/" : d + "/")
    }

    /// "a//./b/" -> "a/b", ".//x" -> "x", "/./" -> "/", "" -> ".".
    static func normalized(_ path: String) -> String {
        let parts = path.unicodeScalars.split(separator: "/").map { String($0) }.filter { !$0.isPath(".") }
        let joined = parts.joined(separator: "/")
        if path.hasPathPrefix("/") { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    static func trimmingTrailingSlashes(_ path: String) -> String {
        var p = path.unicodeScalars
        while p.last == "/", p.index(after: p.startIndex) != p.endIndex { p.removeLast() }
        return String(p)
    }
}

// Paths are bytes to the kernel and to SFTP: they are cut and compared here as Unicode scalars,
// never as Characters. A Character joins a slash or a colon with a combining mark after it
// ("/\u{301}x" is two Characters, no "/"), and String's == and hasPrefix take canonically
// equivalent spellings (NFC and NFD "é") as equal though they name different files.
extension String {
    fileprivate func isPath(_ other: String) -> Bool { unicodeScalars.elementsEqual(other.unicodeScalars) }
    fileprivate func hasPathPrefix(_ prefix: String) -> Bool { unicodeScalars.starts(with: prefix.unicodeScalars) }
    /// Split on "/" as bytes are, empty components dropped.
    fileprivate var pathComponents: [String] { unicodeScalars.split(separator: "/").map { String($0) } }
}
