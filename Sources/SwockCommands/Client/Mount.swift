import ArgumentParser
import Foundation
import SSHKit
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSupport

/// `mount NAME:PATH DIR` as Docker Machine had it: a folder of the machine seen in a local
/// directory, by Debian's sshfs. sshfs reaches the machine through this program
/// (`-o ssh_command`, the hidden `sftp-relay`), so the SFTP stream rides our own SSH session: the
/// pinned host key, the machine's key or agent, its bastions — no OpenSSH client settings.
struct Mount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount a machine's folder on a local directory (sshfs), or unmount it with -u.",
        discussion: Help.discussion(
            """
            Needs sshfs (Debian: apt-get install sshfs) and FUSE. PATH is absolute or relative to \
            the SSH user's home (NAME: alone is the home). The mount lasts until `mount -u`; the files \
            are read and written as the machine's SSH user.
            """,
            examples: [
                "swock-machine mount web1:/srv/app ./app",
                "swock-machine mount -u web1:/srv/app ./app",
            ]))

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("u"), .customLong("unmount")], help: "Unmount DIR.")
    var unmount = false

    @Argument(help: ArgumentHelp("The machine and its folder.", valueName: "name:path"), completion: .machineNames)
    var source: String

    @Argument(help: ArgumentHelp("The local directory (it must exist).", valueName: "dir"), completion: .directory)
    var directory: String

    func run() async throws {
        try await reportingErrors {
            guard let colon = source.firstIndex(of: ":") else {
                throw UsageError("\"\(source)\" is not NAME:PATH; write the machine and its folder, e.g. web1:/srv")
            }
            let name = String(source[..<colon]), path = String(source[source.index(after: colon)...])
            let (store, config) = try global.loadMachine(name)
            let dir = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
            if unmount {
                try Self.unmount(dir)
                Output.err("(\(config.name)) unmounted \(dir)")
                return
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw UserFacingError("\(directory) is not a directory; create it first (mkdir -p \(directory))")
            }
            if Self.isMountPoint(dir) {
                throw UserFacingError("\(dir) is already a mount point; `swock-machine mount -u \(source) \(directory)` unmounts it")
            }
            guard let sshfs = LocalProcess.find("sshfs", path: ProcessInfo.processInfo.environment["PATH"]) else {
                throw UserFacingError("sshfs is not installed; install it (Debian: apt-get install sshfs) and run mount again")
            }
            // sshfs splits ssh_command on spaces (a backslash escapes one) and appends its ssh
            // arguments and the host, which is our machine name.
            let relay = [Tunnel.executable, "sftp-relay"].map {
                $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: " ", with: "\\ ")
            }
            var env = ProcessInfo.processInfo.environment
            env["SWOCK_MACHINE_STORAGE_PATH"] = store.root
            let argv = [
                sshfs, "\(config.name):\(path)", dir, "-o", "ssh_command=\(relay.joined(separator: " "))",
                "-o", "fsname=\(config.name):\(path)", "-o", "idmap=user", "-o", "reconnect",
            ]
            let (status, output) = try Self.runDetaching(argv, environment: env)
            // Under load the mount can show in mountinfo a moment after sshfs's first process
            // has exited 0 (seen in CI): give it up to 10 s.
            var mounted = Self.isMountPoint(dir)
            for _ in 0..<100 where status == 0 && !mounted {
                try await Task.sleep(for: .milliseconds(100))
                mounted = Self.isMountPoint(dir)
            }
            guard status == 0, mounted else {
                let why = output.textLines().last.map(String.init) ?? "sshfs exited with status \(status)"
                throw UserFacingError("cannot mount \(config.name):\(path) on \(dir): \(why)")
            }
            Output.err(
                "(\(config.name)) \(config.name):\(path) is mounted on \(dir); `swock-machine mount -u \(source) \(directory)` unmounts it")
        }
    }

    /// Runs sshfs, which forks its daemon once the mount is up, and waits for the first process
    /// only: its output goes to a file, not a pipe, since the daemon and its relay keep the
    /// descriptors it was given.
    static func runDetaching(_ argv: [String], environment: [String: String]) throws -> (Int32, String) {
        let log = NSTemporaryDirectory() + "swock-mount-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let fd = open(log, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UserFacingError("cannot write \(log): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(log) }
        // The daemon outlives us: it must not keep a descriptor we were given (a caller's pipe
        // would then never see its end of file).
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let n = Int32(entry), n > 2 { _ = fcntl(n, F_SETFD, FD_CLOEXEC) }
        }
        let pid = try LocalProcess.spawn(argv, environment: environment, stdout: fd, stderr: fd)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let status: Int32 = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return (status, output)
    }

    static func unmount(_ dir: String) throws {
        guard isMountPoint(dir) else { throw UserFacingError("\(dir) is not mounted") }
        let path = ProcessInfo.processInfo.environment["PATH"]
        let tool =
            LocalProcess.find("fusermount3", path: path).map { [$0, "-u", dir] }
            ?? LocalProcess.find("fusermount", path: path).map { [$0, "-u", dir] }
            ?? ["/bin/umount", dir]
        let (status, output) = try runDetaching(tool, environment: ProcessInfo.processInfo.environment)
        guard status == 0 else {
            let why = output.textLines().last.map(String.init) ?? "\(PathText.lastComponent(tool[0])) exited with status \(status)"
            throw UserFacingError("cannot unmount \(dir): \(why)")
        }
    }

    /// Whether `dir` is a mount point (its own line in /proc/self/mountinfo, octal escapes as the
    /// kernel writes them).
    static func isMountPoint(_ dir: String) -> Bool {
        // Read to the end with read(2): /proc files report size 0, and a long mount table (a
        // machine running many containers or hosts) must be read whole.
        let fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes = [UInt8](), chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[..<n]
        }
        let info = String(decoding: bytes, as: UTF8.self)
        let resolved = (dir as NSString).resolvingSymlinksInPath
        return info.textLines().contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && unescapeMountField(String(fields[4])) == resolved
        }
    }

    static func unescapeMountField(_ s: String) -> String {
        var out = [UInt8]()
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
                let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(v); i += 4
            } else {
                out.append(bytes[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// What sshfs runs instead of ssh (`mount`): stdin and stdout carry SFTP to the machine's sftp
/// subsystem over our SSH session. sshfs calls it as `sftp-relay [ssh options] -s -- NAME sftp`.
struct SFTPRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sftp-relay",
        abstract: "Carry SFTP between stdin/stdout and a machine (what `mount` gives sshfs).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions

    @Argument(parsing: .captureForPassthrough, help: "What sshfs passes: ssh options, the machine name, -s sftp.")
    var words: [String] = []

    /// The machine: after `--` (sshfs 3: `... -2 -s -- NAME sftp`), else the word before
    /// `-s sftp` (older sshfs), else the last word that is not an option.
    static func machine(in words: [String]) -> String? {
        if let i = words.firstIndex(of: "--"), i + 1 < words.count { return words[i + 1] }
        if words.count >= 3, words.suffix(2) == ["-s", "sftp"] { return words[words.count - 3] }
        return words.last { !$0.hasPrefix("-") }
    }

    func run() async throws {
        try await reportingErrors {
            guard let name = Self.machine(in: words) else {
                throw UsageError("sftp-relay: no machine named; this is run by `swock-machine mount`")
            }
            let (store, config) = try global.loadMachine(name)
            let ssh = try await MachineSSH(store: store, logger: global.logger("swock.mount")).connect(config)
            let r = try await ssh.subsystem(
                "sftp", stdin: .fileDescriptor(0),
                onStdout: { StandardStreams.out($0) },
                onStderr: { StandardStreams.err($0) })
            await ssh.close()
            if let status = r.exitStatus, status != 0 { throw ExitCode(status) }
        }
    }
}
