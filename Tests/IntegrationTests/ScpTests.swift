import FleetSupport
import Foundation
import Testing

/// `scp` between this host and machines on two fleet hosts (user tester, home /home/tester).
@Suite(.serialized, .enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct ScpTests {
    @Test func aBigFileGoesToTheMachineAndBackUnchanged() async throws {
        let f = try await ScpFixture.shared.get()
        let dir = try LocalDir()
        defer { dir.remove() }
        let big = try dir.random("big file.bin", bytes: 5_000_000, mode: 0o640)
        let up = try await f.cli.run(["scp", big, "s1:big-rt.bin"])
        #expect(up.status == 0, "\(up.all)")
        #expect(up.stderrText.isEmpty, "no progress when stderr is not a TTY: \(up.stderrText)")
        let local = try await sha256(big)
        let remote = try await Fleet.run("scp1", "sha256sum /home/tester/big-rt.bin; stat -c %a /home/tester/big-rt.bin")
        #expect(remote.stdoutText == "\(local)  /home/tester/big-rt.bin\n640\n", "\(remote.all)")

        let down = try await f.cli.run(["scp", "s1:big-rt.bin", dir.path + "/back.bin"])
        #expect(down.status == 0, "\(down.all)")
        #expect(try await sha256(dir.path + "/back.bin") == local)
        #expect(try mode(dir.path + "/back.bin") == 0o640)
        // Several sources into a directory, and nothing temporary left on either side.
        let two = try await f.cli.run(["scp", "s1:big-rt.bin", "s1:.profile", dir.path])
        #expect(two.status == 0, "\(two.all)")
        #expect(try dir.names() == [".profile", "back.bin", "big file.bin", "big-rt.bin"])
        let leftovers = try await Fleet.run("scp1", "ls -A /home/tester | grep swock; true")
        #expect(leftovers.stdoutText.isEmpty)
    }

    @Test func treesGoBothWaysWithModesAndLinks() async throws {
        let f = try await ScpFixture.shared.get()
        let dir = try LocalDir()
        defer { dir.remove() }
        let tree = try dir.tree("tree")
        let outside = try dir.random("outside.txt", bytes: 100, mode: 0o644)
        try FileManager.default.createSymbolicLink(atPath: tree + "/ext-file", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: tree + "/ext-dir", withDestinationPath: "/etc")

        // A new name becomes the copy.
        let up = try await f.cli.run(["scp", "-r", tree, "s1:trees"])
        #expect(up.status == 0, "\(up.all)")
        #expect(
            up.stderrText
                == "Warning: skipping symlink \"\(tree)/ext-dir\" -> /etc: it leads out of the copied tree, and not to a regular file")
        let want = try await listing(local: tree)
        #expect(want.contains("600 f ./a/b/secret -> \n"), "\(want)")
        #expect(want.contains("755 f ./run.sh -> \n"))
        #expect(want.contains("755 d ./empty -> \n"))
        #expect(want.contains("l ./link-in -> a/b/secret\n"))
        #expect(try await listing(host: "scp1", "/home/tester/trees") == want)
        // The symlink to a file outside the tree arrived as that file.
        let ext = try await Fleet.run("scp1", "test -L /home/tester/trees/ext-file || cat /home/tester/trees/ext-file")
        #expect(ext.stdout == FileManager.default.contents(atPath: outside))
        // Into an existing directory, a tree keeps its name.
        let into = try await f.cli.run(["scp", "-r", "-q", tree, "s1:trees"])
        #expect(into.status == 0, "\(into.all)")
        #expect(try await listing(host: "scp1", "/home/tester/trees/tree") == want)

        let down = try await f.cli.run(["scp", "-r", "s1:trees/tree", dir.path + "/back"])
        #expect(down.status == 0, "\(down.all)")
        #expect(down.stderrText.isEmpty)
        #expect(try await listing(local: dir.path + "/back") == want)
        let downInto = try await f.cli.run(["scp", "-r", "s1:trees/tree/", dir.path + "/back"])
        #expect(downInto.status == 0, "\(downInto.all)")
        #expect(try await listing(local: dir.path + "/back/tree") == want)
    }

    @Test func machineToMachineGoesThroughAPrivateTempDirThatIsRemoved() async throws {
        let f = try await ScpFixture.shared.get()
        let dir = try LocalDir()
        defer { dir.remove() }
        let tmp = dir.path + "/tmpdir"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let big = try dir.random("m2m.bin", bytes: 3_000_000, mode: 0o600)
        #expect(try await f.cli.run(["scp", big, "s1:m2m.bin"]).status == 0)
        let r = try await f.cli.run(["scp", "s1:m2m.bin", "s2:copied.bin"], env: ["TMPDIR": tmp])
        #expect(r.status == 0, "\(r.all)")
        let sum = try await Fleet.run("scp2", "sha256sum < /home/tester/copied.bin; stat -c %a /home/tester/copied.bin")
        #expect(sum.stdoutText == "\(try await sha256(big))  -\n600\n", "\(sum.all)")

        let tree = try dir.tree("t")
        #expect(try await f.cli.run(["scp", "-r", tree, "s1:"]).status == 0)
        let rt = try await f.cli.run(["scp", "-r", "s1:t", "s2:"], env: ["TMPDIR": tmp])
        #expect(rt.status == 0, "\(rt.all)")
        #expect(try await listing(host: "scp2", "/home/tester/t") == (try await listing(local: tree)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty, "the staging directory is gone")
    }

    @Test func errorsAreOneLineAndLeaveNothingBehind() async throws {
        let f = try await ScpFixture.shared.get()
        let dir = try LocalDir()
        defer { dir.remove() }
        let a = try dir.random("a.bin", bytes: 2_000_000, mode: 0o644)
        let b = try dir.random("b.bin", bytes: 10, mode: 0o644)
        _ = try dir.tree("tree")
        #expect(try await f.cli.run(["scp", a, "s1:err-a.bin"]).status == 0)
        let out = dir.path + "/out"
        let cases: [([String], String)] = [
            (["scp", a, "nosuch:x"], "Error: Docker machine \"nosuch\" does not exist; `swock-machine ls` lists the machines"),
            (["scp", dir.path + "/missing", "s1:"], "Error: \"\(dir.path)/missing\": no such file or directory"),
            (["scp", "s1:missing.txt", out], "Error: \"s1:missing.txt\": no such file or directory"),
            (["scp", "s1:/etc/shadow", out], "Error: \"s1:/etc/shadow\": permission denied"),
            (["scp", a, "s1:/root/a.bin"], "Error: \"s1:/root/a.bin\": permission denied"),
            (["scp", a, "s1:/etc/a.bin"], "Error: \"s1:/etc/a.bin\": permission denied"),
            (["scp", a, b, "s1:err-a.bin"], "Error: \"s1:err-a.bin\": not a directory"),
            (["scp", a, "s1:err-a.bin/x"], "Error: \"s1:err-a.bin\": not a directory"),
            (["scp", "s1:err-a.bin", a + "/x"], "Error: \"\(a)\": not a directory"),
            (["scp", dir.path + "/tree", "s1:"], "Error: \"\(dir.path)/tree\" is a directory; pass -r to copy directories"),
            (["scp", "-r", dir.path + "/tree", "s1:err-a.bin"], "Error: cannot overwrite non-directory \"s1:err-a.bin\" with a directory"),
            (["scp", a, b], "Error: \"\(a)\" and \"\(b)\" are both local; one side must be NAME:path (use cp for local copies)"),
        ]
        let before = try dir.names()
        for (args, text) in cases {
            let r = try await f.cli.run(args)
            #expect(r.status == 1, "\(args): \(r.all)")
            #expect(r.stderrText == text, "\(args)")
            #expect(r.stdoutText.isEmpty)
        }
        #expect(try dir.names() == before, "no partial local files")
        let etc = try await Fleet.run("scp1", "ls -A /etc /home/tester | grep -e swock -e '^a.bin' -e '^x$'; true")
        #expect(etc.stdoutText.isEmpty, "\(etc.stdoutText)")

        // A remote disk that fills up mid-file, and a local one.
        _ = try await Fleet.run("scp1", "mkdir -p /mnt/small && mount -t tmpfs -o size=1m tmpfs /mnt/small && chmod 777 /mnt/small")
        let full = try await f.cli.run(["scp", a, "s1:/mnt/small/a.bin"])
        #expect(full.status == 1)
        #expect(full.stderrText.hasPrefix("Error: \"s1:/mnt/small/a.bin\": failure"), "\(full.all)")
        #expect(try await Fleet.run("scp1", "ls -A /mnt/small; umount /mnt/small").stdoutText.isEmpty)
        let small = dir.path + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let script = "mount -t tmpfs -o size=1m tmpfs \"$1\" && \"$2\" scp s1:err-a.bin \"$1/a.bin\"; echo \"rc=$?\"; ls -A \"$1\""
        let local = try await Subprocess.run(
            ["unshare", "-m", "sh", "-c", script, "sh", small, CLI.binary],
            environment: ["SWOCK_MACHINE_STORAGE_PATH": f.cli.store, "PATH": "/usr/bin:/bin"])
        #expect(local.stdoutText == "rc=1\n", "\(local.all)")
        #expect(local.stderrText == "Error: \"\(small)/a.bin\": no space left on device")
    }

    @Test func interruptedTransfersRemoveTheirTemporaryFiles() async throws {
        let f = try await ScpFixture.shared.get()
        let dir = try LocalDir()
        defer { dir.remove() }
        let huge = dir.path + "/huge.bin"
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        #expect(truncate(huge, 1 << 30) == 0)
        _ = try await Fleet.run("scp1", "rm -f /home/tester/huge.bin; su tester -c 'truncate -s 1G /home/tester/huge.bin'")

        // Upload: stop once the temporary file shows up on the host.
        let up = try f.cli.start(["scp", huge, "s1:huge-up.bin"])
        var seen = false
        for _ in 0..<100 where !seen {
            seen = try await Fleet.run("scp1", "ls -A /home/tester | grep -q '^.huge-up.bin.swock-' && echo yes").stdoutText == "yes\n"
            if !seen { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(seen)
        up.interrupt()
        up.waitUntilExit()
        #expect(up.terminationStatus == 130)
        #expect(try await Fleet.run("scp1", "ls -A /home/tester | grep huge-up; true").stdoutText.isEmpty)

        // Download: the same on the local side.
        let down = try f.cli.start(["scp", "s1:huge.bin", dir.path + "/down.bin"])
        seen = false
        for _ in 0..<200 where !seen {
            seen = try dir.names().contains { $0.hasPrefix(".down.bin.swock-partial-") }
            if !seen { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(seen)
        down.interrupt()
        down.waitUntilExit()
        #expect(down.terminationStatus == 130)
        #expect(try dir.names() == ["huge.bin"])
        _ = try await Fleet.run("scp1", "rm -f /home/tester/huge.bin")
    }

    /// `scp -r` from a hostile SFTP server (the CVE-2019-6111 class): the real sshd of scp1 runs
    /// our own small server for SFTP, whose listings hold names that lead out of the
    /// destination, repeat, or make symlinks that point out and are then written through. Each
    /// listing is refused with one line naming the remote directory and the name (or, for the
    /// links alone, the outward link is not made), and nothing lands outside the destination:
    /// what was copied before the bad listing stays inside it.
    @Test func aHostileServerNeverWritesOutsideTheDestination() async throws {
        typealias E = HostileSFTP.Entry
        let f = try await ScpFixture.shared.get()
        let tail = "; the copy stopped there and nothing was written outside the destination: the host's SFTP server is broken or hostile"
        func refused(_ dir: String, _ name: String, _ reason: String) -> String {
            "Error: \"s1:/srv/evil\(dir)\" lists an unsafe name \"\(name)\" (\(reason))" + tail
        }
        // Listing, expected status, expected stderr, expected paths in the destination (kind, path, link target).
        let cases: [(String, [E], Int32, String, [String])] = [
            (
                "up and out, after a good file",
                E.standard() + [.file("a.txt"), .dir("sub")] + E.standard(in: "sub") + [.file("../../../x", in: "sub")],
                1, refused("/sub", "../../../x", "it contains \"/\""), ["d .", "d ./sub", "f ./a.txt"]
            ),
            ("a slash", E.standard() + [.file("a/b")], 1, refused("", "a/b", "it contains \"/\""), ["d ."]),
            ("a second \"..\"", E.standard() + [.file("..")], 1, refused("", "..", "it is listed twice"), ["d ."]),
            ("\"..\" as a file", [.file("..")], 1, refused("", "..", "it is \"..\" but not a directory"), ["d ."]),
            ("a name twice", E.standard() + [.file("same"), .file("same")], 1, refused("", "same", "it is listed twice"), ["d ."]),
            (
                "y -> . then x -> y/..", E.standard() + [.link("y", to: "."), .link("x", to: "y/..")], 0,
                "Warning: skipping symlink \"s1:/srv/evil/x\" -> y/..: it leads out of the copied tree, and not to a regular file",
                ["d .", "l ./y -> ."]
            ),
            // Sorted, a comes before x: the link x -> a/.. is there when the directory x comes.
            (
                "a -> ., x -> a/.., then x again as a directory to write through",
                E.standard() + [.link("a", to: "."), .link("x", to: "a/.."), .dir("x"), .file("pwned", in: "x")],
                1, refused("", "x", "it is listed twice"), ["d ."]
            ),
        ]
        try await HostileSFTP.install(on: "scp1")
        var failure: Error?
        do {
            for (what, entries, status, stderr, inside) in cases {
                try await HostileSFTP.serve(entries, root: "/srv/evil", on: "scp1")
                // A new connection keeper, whose new session starts the host's SFTP server as it is
                // now (a held one would go on with the server it started before).
                _ = try await f.cli.run(["keeper", "stop"])
                let dir = try LocalDir()
                defer { dir.remove() }
                let dst = dir.path + "/a/b/dst"
                try FileManager.default.createDirectory(atPath: dir.path + "/a/b", withIntermediateDirectories: true)
                let r = try await f.cli.run(["scp", "-r", "s1:/srv/evil", dst])
                #expect(r.status == status, "\(what): \(r.all)")
                #expect(r.stderrText == stderr, "\(what)")
                // Everything under the scratch directory, links not followed; and where every
                // link in the destination leads, resolved.
                let all = try await Subprocess.run(["find", dir.path, "-mindepth", "1", "-printf", "%P\\n"])
                let outside = all.stdoutText.split(separator: "\n").filter {
                    $0 != "a" && $0 != "a/b" && !($0 == "a/b/dst" || $0.hasPrefix("a/b/dst/"))
                }
                #expect(outside.isEmpty, "\(what): written outside the destination: \(outside)")
                let got = try await Subprocess.run([
                    "sh", "-c", "cd \"$1\" && find . -printf '%y %p -> %l\\n' | sed 's/ -> $//' | LC_ALL=C sort", "sh", dst,
                ])
                #expect(got.stdoutText == inside.map { $0 + "\n" }.joined(), "\(what)")
                let links = try await Subprocess.run([
                    "sh", "-c",
                    "real=$(readlink -f \"$1\") && find \"$1\" -type l -exec readlink -m {} \\; | grep -v -x -e \"$real\" -e \"$real/.*\"; true",
                    "sh", dst,
                ])
                #expect(links.stdoutText.isEmpty, "\(what): a link leads out of the destination: \(links.stdoutText)")
                if what.hasPrefix("up and out") {
                    #expect(FileManager.default.contents(atPath: dst + "/a.txt") == Data("hostile file a.txt\n".utf8))
                }
            }
        } catch {
            failure = error
        }
        try await HostileSFTP.remove(from: "scp1")
        _ = try await f.cli.run(["keeper", "stop"])
        if let failure { throw failure }
        // The real server is back.
        let dir = try LocalDir()
        defer { dir.remove() }
        let back = try await f.cli.run(["scp", "s1:.profile", dir.path])
        #expect(back.status == 0, "\(back.all)")
        #expect(try dir.names() == [".profile"])
    }

    @Test func progressOnlyOnATerminal() async throws {
        let f = try await ScpFixture.shared.get()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
        let dir = try LocalDir()
        defer { dir.remove() }
        let a = try dir.random("p.bin", bytes: 1_000_000, mode: 0o644)
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = f.cli.store
        let line = "\(shq(CLI.binary)) scp \(shq(a)) s1:p.bin"
        let tty = try await Subprocess.run(["/usr/bin/script", "-qec", line, "/dev/null"], environment: env)
        #expect(tty.status == 0, "\(tty.all)")
        #expect(tty.stdoutText.contains("\r\u{1B}[Kp.bin  100%  976.6 KiB / 976.6 KiB  "), "\(tty.stdoutText.debugDescription)")
        #expect(tty.stdoutText.contains("/s"))
        let quiet = try await Subprocess.run(
            ["/usr/bin/script", "-qec", line.replacingOccurrences(of: " scp ", with: " scp -q "), "/dev/null"], environment: env)
        #expect(quiet.status == 0)
        #expect(quiet.stdoutText.isEmpty, "\(quiet.stdoutText.debugDescription)")
    }
}

/// Two machines, s1 on fleet host scp1 and s2 on scp2, in one store; made once per run.
actor ScpFixture {
    static let shared = ScpFixture()
    struct Machines: Sendable { let cli: CLI }
    private var task: Task<Machines, Error>?

    func get() async throws -> Machines {
        if task == nil {
            task = Task {
                let hosts = try await Fleet.freshShared(["scp1", "scp2"], variant: "docker")
                let cli = CLI()
                for (name, host) in zip(["s1", "s2"], hosts) {
                    let r = try await cli.create(name, on: host)
                    guard r.status == 0 else { throw SetupFailure(description: "create \(name): \(r.all)") }
                }
                return Machines(cli: cli)
            }
        }
        return try await task!.value
    }
}

struct SetupFailure: Error, CustomStringConvertible {
    var description: String
}

private func shq(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// A scratch directory whose path has a space in it.
struct LocalDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "scp test " + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    @discardableResult
    func random(_ name: String, bytes: Int, mode: Int) throws -> String {
        let p = path + "/" + name
        let data = FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: bytes)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: p))
        chmod(p, mode_t(mode))
        return p
    }

    /// Nested directories, an empty one, a name with spaces, modes 0600/0755/0750, links inside.
    func tree(_ name: String) throws -> String {
        let t = path + "/" + name
        try random(name + "/a/b/secret", bytes: 1000, mode: 0o600)
        try random(name + "/a/b/deep file", bytes: 70_000, mode: 0o640)
        try random(name + "/with space.txt", bytes: 10, mode: 0o644)
        try random(name + "/run.sh", bytes: 64, mode: 0o755)
        try FileManager.default.createDirectory(atPath: t + "/empty", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: t + "/link-in", withDestinationPath: "a/b/secret")
        try FileManager.default.createSymbolicLink(atPath: t + "/a/b/up", withDestinationPath: "../../run.sh")
        chmod(t + "/a/b", 0o700); chmod(t + "/a", 0o750); chmod(t + "/empty", 0o755); chmod(t, 0o755)
        return t
    }
}

/// Modes, kinds, link targets and checksums of everything under a directory, relative to it.
private let listingScript = """
    cd "$1" && find . ! -name 'ext-*' -printf '%m %y %p -> %l\\n' | LC_ALL=C sort && \
    find . -type f ! -name 'ext-*' -exec sha256sum {} + | LC_ALL=C sort -k2
    """

private func listing(local dir: String) async throws -> String {
    let r = try await Subprocess.run(["/bin/sh", "-c", listingScript, "sh", dir])
    #expect(r.status == 0, "\(r.all)")
    return r.stdoutText
}

private func listing(host: String, _ dir: String) async throws -> String {
    let r = try await Fleet.run(host, "set -- '\(dir)'; " + listingScript)
    #expect(r.status == 0, "\(r.all)")
    return r.stdoutText
}

private func sha256(_ path: String) async throws -> String {
    let r = try await Subprocess.run(["sha256sum", path])
    return String(r.stdoutText.prefix(64))
}

private func mode(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
}

extension CLI {
    /// Starts `swock-machine ARGS` without waiting (to signal it).
    func start(_ args: [String]) throws -> Process {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = store
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
