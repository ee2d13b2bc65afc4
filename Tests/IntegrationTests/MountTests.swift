import FleetSupport
import Foundation
import Testing

/// `mount NAME:PATH DIR` (Docker Machine's verb) through Debian's sshfs, the SFTP stream riding
/// the machine's own SSH session, on a real host.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct MountTests {
    @Test func mountReadWriteAndUnmount() async throws {
        let host = try await Fleet.fresh("mnt1", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        let created = try await cli.create("m1", on: host)
        #expect(created.status == 0, "\(created.all)")
        let dir = NSTemporaryDirectory() + "swock mount \(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            _ = try? FileManager.default.contentsOfDirectory(atPath: dir)
            try? FileManager.default.removeItem(atPath: dir)
        }

        let mount = try await cli.run(["mount", "m1:/etc", dir])
        #expect(mount.status == 0, "\(mount.all)")
        #expect(mount.stderrText.contains("m1:/etc is mounted on \(dir)"), "\(mount.all)")
        #expect(try String(contentsOfFile: dir + "/hostname", encoding: .utf8) == "mnt1\n")
        let again = try await cli.run(["mount", "m1:/etc", dir])
        #expect(again.status == 1 && again.stderrText.hasPrefix("Error: \(dir) is already a mount point"), "\(again.all)")
        let unmount = try await cli.run(["mount", "-u", "m1:/etc", dir])
        #expect(unmount.status == 0, "\(unmount.all)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/hostname"))

        // The login user's home (NAME:), written through the mount, is on the host.
        let home = try await cli.run(["mount", "m1:", dir])
        #expect(home.status == 0, "\(home.all)")
        try "written through sshfs\n".write(toFile: dir + "/from-mount.txt", atomically: false, encoding: .utf8)
        let onHost = try await Fleet.run(host.name, "cat ~\(host.user)/from-mount.txt")
        #expect(onHost.stdoutText == "written through sshfs\n", "\(onHost.all)")
        #expect(try await cli.run(["mount", "-u", "m1:", dir]).status == 0)
        // Nothing keeps running once unmounted: the relay ends with sshfs (under load it can take
        // a few seconds to see its stdin close and end its SSH session).
        var relays = 1
        for _ in 0..<300 {
            relays = Self.processes(containing: "sftp-relay").count
            if relays == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(relays == 0, "sftp-relay still runs after mount -u: \(Self.describe(Self.processes(containing: "sftp-relay")))")

        // Refusals: one line each, nothing mounted.
        let missing = try await cli.run(["mount", "m1:/no/such/folder", dir])
        #expect(
            missing.status == 1 && missing.stderrText.hasPrefix("Error: cannot mount m1:/no/such/folder on \(dir): ")
                && missing.stderrText.contains("No such file or directory"), "\(missing.all)")
        let noDir = try await cli.run(["mount", "m1:/etc", dir + "/nope"])
        #expect(noDir.status == 1 && noDir.stderrText.hasPrefix("Error: \(dir)/nope is not a directory; create it first"), "\(noDir.all)")
        let noColon = try await cli.run(["mount", "m1", dir])
        #expect(noColon.status == 64 && noColon.stderrText.hasPrefix("Error: \"m1\" is not NAME:PATH"), "\(noColon.all)")
        let noSSHFS = try await cli.run(["mount", "m1:/etc", dir], env: ["PATH": "/nonexistent"])
        #expect(noSSHFS.status == 1 && noSSHFS.stderrText.hasPrefix("Error: sshfs is not installed; install it"), "\(noSSHFS.all)")
        let notMounted = try await cli.run(["mount", "-u", "m1:/etc", dir])
        #expect(notMounted.status == 1 && notMounted.stderrText == "Error: \(dir) is not mounted", "\(notMounted.all)")
        let unknown = try await cli.run(["mount", "nope:/etc", dir])
        #expect(unknown.stderrText.hasPrefix("Error: Docker machine \"nope\" does not exist"), "\(unknown.all)")
    }

    /// What each process is doing (state, kernel wait, parent, open files): a relay that
    /// outlives its mount says why.
    static func describe(_ pids: [String]) -> String {
        pids.map { pid in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let fields = status.split(separator: "\n").filter { $0.hasPrefix("State:") || $0.hasPrefix("PPid:") }.joined(separator: " ")
            let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
            let fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).sorted().map { fd in
                "\(fd)->" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? "?")
            }
            let cmd = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).map { $0 == 0 ? 32 : $0 }
            // Where each thread waits, and who holds the other end of its stdin (sshfs, or nobody).
            let threads = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).sorted().map { tid in
                let comm = ((try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(
                    in: .whitespacesAndNewlines)
                return "\(comm):" + ((try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/wchan", encoding: .utf8)) ?? "?")
            }
            let stdin = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0")) ?? ""
            let inode = stdin.hasPrefix("socket:[") ? String(stdin.dropFirst(8).dropLast()) : ""
            let ss = inode.isEmpty ? "" : ((try? Subprocess.runBlocking(["ss", "-xpH"]).stdoutText) ?? "")
            let peer = ss.split(separator: "\n").filter { $0.contains(" \(inode) ") }.joined(separator: " / ")
            return
                "pid \(pid) [\(String(decoding: cmd, as: UTF8.self))] \(fields) wchan \(wchan) threads \(threads.joined(separator: " ")) fds \(fds.joined(separator: " ")) stdin in ss: \(peer)"
        }.joined(separator: "; ")
    }

    /// PIDs of processes whose command line contains `word`.
    static func processes(containing word: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { pid in
            guard Int(pid) != nil, let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: raw, as: UTF8.self).split(separator: "\0").contains { $0 == word }
        }
    }
}
