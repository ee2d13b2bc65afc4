import Foundation
import SSHKit
import Testing

@testable import SwockClient

@Suite struct CopyPlanTests {
    typealias L = CopyLocation
    let file = CopyFileInfo(.file, mode: 0o644, size: 10)
    let dir = CopyFileInfo(.directory, mode: 0o755)

    @Test(arguments: [
        ("web1:/etc/hosts", L.remote(machine: "web1", path: "/etc/hosts")),
        ("web1:notes.txt", .remote(machine: "web1", path: "notes.txt")),
        ("web1:", .remote(machine: "web1", path: ".")),
        ("web1:~", .remote(machine: "web1", path: ".")),
        ("web1:~/a b", .remote(machine: "web1", path: "a b")),
        ("web1:-x", .remote(machine: "web1", path: "./-x")),
        ("a.b-c:x:y", .remote(machine: "a.b-c", path: "x:y")),
        ("./a:b", .local("./a:b")),
        ("/tmp/a:b", .local("/tmp/a:b")),
        ("dir/web1:x", .local("dir/web1:x")),
        (":x", .local(":x")),
        ("my_file:1", .local("my_file:1")),
        ("-web1:x", .local("-web1:x")),
        ("plain", .local("plain")),
    ])
    func parsing(_ arg: String, _ expected: CopyLocation) {
        #expect(CopyLocation.parse(arg) == expected)
    }

    @Test func namesAndParents() {
        #expect(L.parse("web1:").appending("f") == .remote(machine: "web1", path: "f"))
        #expect(L.parse("web1:").appending("-f") == .remote(machine: "web1", path: "./-f"))
        #expect(L.parse("web1:/").appending("etc") == .remote(machine: "web1", path: "/etc"))
        #expect(L.local("d/").appending("f") == .local("d/f"))
        #expect(L.local("a/b/").baseName == "b")
        #expect(L.local("/").baseName == "/")
        #expect(L.parse("web1:").baseName == ".")
        #expect(L.local("a/b/c").parent == .local("a/b"))
        #expect(L.local("/c").parent == .local("/"))
        #expect(L.local("c").parent == .local("."))
        #expect(L.parse("web1:x").description == "web1:x")
    }

    @Test func aFileIntoADirectoryKeepsItsName() throws {
        let items = try CopyPlan.make(
            sources: [(.local("/tmp/a.txt"), file)], destination: .parse("web1:/srv"),
            destinationInfo: dir, parentInfo: nil, recursive: false)
        #expect(items == [CopyItem(source: .local("/tmp/a.txt"), target: .remote(machine: "web1", path: "/srv/a.txt"), info: file)])
    }

    @Test func aFileToANewOrExistingFileName() throws {
        for destInfo in [nil, file] {
            let items = try CopyPlan.make(
                sources: [(.parse("web1:a"), file)], destination: .local("out/b"),
                destinationInfo: destInfo, parentInfo: dir, recursive: false)
            #expect(items.map(\.target) == [.local("out/b")])
        }
    }

    @Test func severalSourcesNeedADirectory() throws {
        let srcs: [(CopyLocation, CopyFileInfo?)] = [(.local("a"), file), (.local("b"), file)]
        let items = try CopyPlan.make(sources: srcs, destination: .parse("web1:d"), destinationInfo: dir, parentInfo: nil, recursive: false)
        #expect(items.map(\.target.path) == ["d/a", "d/b"])
        for destInfo in [nil, file] {
            #expect(throws: CopyError.notADirectory("web1:d")) {
                try CopyPlan.make(
                    sources: srcs, destination: .parse("web1:d"), destinationInfo: destInfo, parentInfo: dir, recursive: false)
            }
        }
    }

    @Test func directories() throws {
        #expect(throws: CopyError.isADirectory("web1:tree")) {
            try CopyPlan.make(
                sources: [(.parse("web1:tree"), dir)], destination: .local("x"), destinationInfo: nil, parentInfo: dir, recursive: false)
        }
        // -r: a new name becomes the copy; an existing directory receives it.
        let new = try CopyPlan.make(
            sources: [(.parse("web1:tree/"), dir)], destination: .local("x"), destinationInfo: nil, parentInfo: dir, recursive: true)
        #expect(new.map(\.target) == [.local("x")])
        let into = try CopyPlan.make(
            sources: [(.parse("web1:tree/"), dir)], destination: .local("x"), destinationInfo: dir, parentInfo: nil, recursive: true)
        #expect(into.map(\.target) == [.local("x/tree")])
        // The home directory's contents go straight into the destination.
        let home = try CopyPlan.make(
            sources: [(.parse("web1:"), dir)], destination: .local("x"), destinationInfo: dir, parentInfo: nil, recursive: true)
        #expect(home.map(\.target) == [.local("x")])
        #expect(throws: CopyError.overwriteFileWithDirectory("x")) {
            try CopyPlan.make(
                sources: [(.parse("web1:tree"), dir)], destination: .local("x"), destinationInfo: file, parentInfo: nil, recursive: true)
        }
        let other = try CopyPlan.make(
            sources: [(.parse("web1:t"), dir)], destination: .parse("web2:t"), destinationInfo: dir, parentInfo: nil, recursive: true)
        #expect(other.map(\.target) == [.remote(machine: "web2", path: "t/t")])
        #expect(throws: CopyError.intoItself(source: "web1:t", target: "web1:t/t")) {
            try CopyPlan.make(
                sources: [(.parse("web1:t"), dir)], destination: .parse("web1:t"), destinationInfo: dir, parentInfo: nil, recursive: true)
        }
    }

    @Test func missingAndBadPaths() {
        #expect(throws: CopyError.noSuchFile("web1:nope")) {
            try CopyPlan.make(
                sources: [(.parse("web1:nope"), nil)], destination: .local("x"), destinationInfo: nil, parentInfo: dir, recursive: false)
        }
        #expect(throws: CopyError.noSuchFile("no/such")) {
            try CopyPlan.make(
                sources: [(.parse("web1:a"), file)], destination: .local("no/such/x"), destinationInfo: nil, parentInfo: nil,
                recursive: false)
        }
        #expect(throws: CopyError.notADirectory("web1:f")) {
            try CopyPlan.make(
                sources: [(.local("a"), file)], destination: .parse("web1:f/x"), destinationInfo: nil, parentInfo: file, recursive: false)
        }
        #expect(throws: CopyError.notADirectory("web1:newdir/")) {
            try CopyPlan.make(
                sources: [(.local("a"), file)], destination: .parse("web1:newdir/"), destinationInfo: nil, parentInfo: dir, recursive: false
            )
        }
        #expect(throws: CopyError.notARegularFile("/dev/null")) {
            try CopyPlan.make(
                sources: [(.parse("web1:a"), file)], destination: .local("/dev/null"),
                destinationInfo: CopyFileInfo(.other), parentInfo: nil, recursive: false)
        }
        #expect(throws: CopyError.bothLocal("a", "b")) {
            try CopyPlan.make(
                sources: [(.local("a"), file)], destination: .local("b"), destinationInfo: nil, parentInfo: dir, recursive: false)
        }
    }

    @Test func errorTextsAreOneLine() {
        #expect(CopyError.noSuchFile("web1:x").description == "\"web1:x\": no such file or directory")
        #expect(CopyError.permissionDenied("web1:/root/x").description == "\"web1:/root/x\": permission denied")
        #expect(CopyError.notADirectory("d").description == "\"d\": not a directory")
        #expect(CopyError.isADirectory("t").description == "\"t\" is a directory; pass -r to copy directories")
        // Decided on the error number and the SFTP status, never on the words.
        #expect(CopyRunner.copyError("p", errno: ENOENT, "whatever the words") == .noSuchFile("p"))
        #expect(CopyRunner.copyError("p", errno: EACCES, "Permission denied") == .permissionDenied("p"))
        #expect(CopyRunner.copyError("p", errno: ENOTDIR, "Not a directory") == .notADirectory("p"))
        #expect(CopyRunner.copyError("p", errno: ENOSPC, "No space left on device") == .failed("p", reason: "no space left on device"))
        #expect(
            CopyRunner.copyError("p", errno: nil, "no such file, says a message") == .failed("p", reason: "no such file, says a message"))
        #expect(CopyRunner.copyError("p", sftp: .noSuchPath, "no such directory") == .noSuchFile("p"))
        #expect(CopyRunner.copyError("p", sftp: .permissionDenied, "x") == .permissionDenied("p"))
        #expect(CopyRunner.copyError("p", sftp: .other, "permission denied") == .failed("p", reason: "permission denied"))
    }

    /// Found by Fuzz/copyplan: paths were cut as Characters, and a combining mark after a slash
    /// (or a colon) joins it into one Character, so the slash went unseen.
    @Test func pathsAreCutAsUnicodeScalars() throws {
        // A link from the remote tree that climbs out was judged contained and recreated.
        var tree = CopyPlan.CopiedTree()
        tree.directories.insert("d0")
        #expect(!CopyPlan.linkStaysInside("../../\u{34D}", at: ["d0", "l"], tree: tree))
        // A listed name with a slash followed by a combining mark still has a slash.
        #expect(throws: CopyError.self) { try CopyPlan.checkedEntries([("a/\u{34D}b", CopyFileInfo(.file))], in: "web1:/x") }
        #expect(L.local("a/\u{34D}b").baseName == "\u{34D}b")
        #expect(L.local("a/\u{34D}b").parent == .local("a"))
        #expect(L.parse("web1:\u{301}x") == .remote(machine: "web1", path: "\u{301}x"))
        #expect(L.local("web0./.").appending("\u{34D}f") == .local("web0././\u{34D}f"))
        #expect(CopyPlan.isInside("web0././\u{34D}f", "web0./."))
        #expect(throws: CopyError.intoItself(source: "web1:d", target: "web1:d/\u{34D}x")) {
            try CopyPlan.make(
                sources: [(.parse("web1:d"), dir)], destination: .parse("web1:d/\u{34D}x"),
                destinationInfo: nil, parentInfo: dir, recursive: true)
        }
        // NFC and NFD spellings of a name are different files.
        #expect(!CopyPlan.isInside("\u{E9}/x", "e\u{301}"))
    }

    /// Found by Fuzz/copyplan: dropping a leading "./" from ".//x" left the absolute "/x".
    @Test func pathsAreComparedByTheirComponents() throws {
        #expect(CopyPlan.normalized(".//x") == "x")
        #expect(CopyPlan.normalized("a//./b/") == "a/b")
        #expect(CopyPlan.normalized("/./") == "/")
        #expect(CopyPlan.normalized("") == ".")
        #expect(CopyPlan.isInside(".//x", ".//"))
        #expect(!CopyPlan.isInside(".//d/x", "/d"))
        #expect(CopyPlan.isInside("d/./x", "d/."))
        #expect(throws: CopyError.intoItself(source: "web1:d", target: "web1:.//d/x")) {
            try CopyPlan.make(
                sources: [(.parse("web1:d"), dir)], destination: .parse("web1:.//d/x"),
                destinationInfo: nil, parentInfo: dir, recursive: true)
        }
    }

    /// Links a copy makes must resolve inside the copied tree. Targets as plain text, at a
    /// depth (`path` has depth + 1 components), in a tree whose directories are all there.
    @Test(arguments: [
        ("a", 0, true), ("sub/a", 0, true), ("../a", 0, false), ("../a", 1, true), ("../../a", 1, false),
        ("./x/../y", 0, false), ("x/../../y", 0, false), ("/etc/passwd", 3, false), ("", 0, false), ("..", 1, true),
        (".", 0, true), ("../../run.sh", 2, true), ("a//b/./c", 0, true),
    ])
    func linkTargetsOnTheirOwn(_ target: String, _ depth: Int, _ inside: Bool) {
        var tree = CopyPlan.CopiedTree()
        let path = (0...depth).map { "d\($0)" }
        for i in 0..<depth { tree.directories.insert(path[...i].joined(separator: "/")) }
        #expect(CopyPlan.linkStaysInside(target, at: path, tree: tree) == inside)
    }

    /// The containment check resolves the links the copy already made (text alone said
    /// `x -> y/..` stays inside; with `y -> .` it is the root's parent).
    @Test func linkContainmentResolvesTheLinksTheCopyMade() {
        var tree = CopyPlan.CopiedTree()
        #expect(CopyPlan.linkStaysInside(".", at: ["y"], tree: tree))
        tree.links["y"] = "."
        #expect(!CopyPlan.linkStaysInside("y/..", at: ["x"], tree: tree))
        #expect(!CopyPlan.linkStaysInside("y/y/y/..", at: ["x"], tree: tree))
        #expect(CopyPlan.linkStaysInside("y/y/file", at: ["x"], tree: tree))
        // Out of a subdirectory, through a link back to the root, then up: out.
        tree.directories.insert("sub")
        tree.links["sub/up"] = ".."
        #expect(CopyPlan.linkStaysInside("up/sub/f", at: ["sub", "l"], tree: tree))
        #expect(!CopyPlan.linkStaysInside("up/..", at: ["sub", "l"], tree: tree))
        #expect(CopyPlan.linkStaysInside("../sub/../sub/f", at: ["sub", "l"], tree: tree))
        // ".." out of a name that is not a directory the copy made (yet): it could still
        // become a link, `zz -> .`, later in the copy.
        #expect(!CopyPlan.linkStaysInside("zz/..", at: ["x"], tree: CopyPlan.CopiedTree()))
        // Loops and absolute targets met on the way.
        var loop = CopyPlan.CopiedTree()
        loop.links["a"] = "b"
        loop.links["b"] = "a"
        #expect(!CopyPlan.linkStaysInside("a/f", at: ["l"], tree: loop))
        loop.links["abs"] = "/etc"
        #expect(!CopyPlan.linkStaysInside("abs/passwd", at: ["l"], tree: loop))
    }

    /// A listing's names must each be one path component, once.
    @Test func listingsWithUnsafeNamesAreRefused() throws {
        let f = CopyFileInfo(.file), d = CopyFileInfo(.directory)
        let ok = try CopyPlan.checkedEntries(
            [("b", f), (".", d), ("..", d), ("a", d), (".hidden", f), ("..x", f), ("x..", f)], in: "web1:/var/log")
        #expect(ok.map(\.0) == ["..x", ".hidden", "a", "b", "x.."])
        let bad: [([(String, CopyFileInfo)], String, String)] = [
            ([("../../x", f)], "../../x", "it contains \"/\""),
            ([("a/b", f)], "a/b", "it contains \"/\""),
            ([("/etc", d)], "/etc", "it contains \"/\""),
            ([("", f)], "", "it is empty"),
            ([("a\u{0}b", f)], "a\u{0}b", "it contains a NUL byte"),
            ([("..", f)], "..", "it is \"..\" but not a directory"),
            ([(".", .init(.symlink))], ".", "it is \".\" but not a directory"),
            ([("..", d), ("..", d)], "..", "it is listed twice"),
            ([(".", d), (".", d)], ".", "it is listed twice"),
            ([("dup", f), ("ok", f), ("dup", d)], "dup", "it is listed twice"),
        ]
        for (listing, name, reason) in bad {
            #expect(throws: CopyError.unsafeName(directory: "web1:/var/log", name: name, reason: reason)) {
                try CopyPlan.checkedEntries(listing, in: "web1:/var/log")
            }
        }
        let text = CopyError.unsafeName(directory: "web1:/var/log", name: "a\nb", reason: "it is listed twice").description
        #expect(
            text
                == "\"web1:/var/log\" lists an unsafe name \"a\\u{a}b\" (it is listed twice); the copy stopped there and nothing was written outside the destination: the host's SFTP server is broken or hostile"
        )
    }
}
