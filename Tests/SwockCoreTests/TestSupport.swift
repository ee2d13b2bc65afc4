import FleetSupport
import Foundation

@testable import SwockStore

/// A fresh temporary directory whose path contains a space; removed by `remove()`.
struct TempDir {
    let path: String

    init(_ label: String = "t") throws {
        path = NSTemporaryDirectory().appending("swock core \(label) \(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func sub(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes an executable file.
    @discardableResult
    func script(_ name: String, _ text: String) throws -> String {
        let p = sub(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        chmod(p, 0o755)
        return p
    }
}

/// The first executable called `name` on PATH.
func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// Runs `/bin/sh -c script sh args...`.
func sh(_ script: String, _ args: [String] = [], environment: [String: String]? = nil) throws -> Subprocess.Result {
    try Subprocess.runBlocking(["/bin/sh", "-c", script, "sh"] + args, environment: environment)
}

/// Splits NUL-terminated fields.
func nulFields(_ data: Data) -> [String] {
    var fields = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    if fields.last == "" { fields.removeLast() }
    return fields
}

/// `env -0` output as a dictionary.
func envDump(_ data: Data) -> [String: String] { envDict(nulFields(data)) }

func envDict<S: Sequence<String>>(_ fields: S) -> [String: String] {
    var out: [String: String] = [:]
    for f in fields {
        guard let eq = f.firstIndex(of: "=") else { continue }
        out[String(f[..<eq])] = String(f[f.index(after: eq)...])
    }
    return out
}

/// A marker file that hostile input would create if any shell ever ran it.
struct Pwned {
    let path = "/tmp/swock-pwned-\(UUID().uuidString)"
    var happened: Bool { FileManager.default.fileExists(atPath: path) }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }

    /// Words a shell or systemd would love to interpret.
    var hostileWords: [String] {
        [
            "two words", "it's", "\"double\"", "$(touch \(path))", "`touch \(path)`", "; touch \(path)",
            "line1\nline2", "tab\there", "$HOME", "${PATH}", "back\\slash", "trailing\\", "*", "",
            "%n %% %", "é ünïcode ✓", "--label=x=y z", "-", "'", "\"", "!bang", "#hash", "~",
            "a'b\"c$d`e\\f", "&& touch \(path) &", "|", ">x", "  lead and trail  ",
        ]
    }
}

/// A record with every field filled; whole-second dates (the JSON keeps seconds).
func sampleConfig(_ name: String, address: String = "10.0.0.5", labels: [String: String] = ["team": "core"]) -> MachineConfig {
    var c = MachineConfig(
        name: name, driver: "generic", address: address,
        ssh: SSHSettings(
            user: "admin", port: 2222, authMode: .generatedKey,
            keyPath: "machines/\(name)/id_ed25519", knownHostsPath: "machines/\(name)/known_hosts"),
        engine: EngineSettings(
            port: 2376, options: ["dns=1.1.1.1", "--debug"], labels: ["env=prod"],
            environment: ["HTTP_PROXY=http://proxy:3128"], storageDriver: "overlay2",
            registryMirrors: ["https://mirror.example"], insecureRegistries: ["reg.local:5000"],
            install: .auto, installURL: "https://get.example/install.sh"),
        tls: TLSSettings(keyType: "ecdsa-p256", serverSANs: [address, "web.example"], extraSANs: ["web.example"]),
        labels: labels, now: Date(timeIntervalSince1970: 1_700_000_000))
    c.engine.version = "20.10.24"
    c.engine.dockerdPath = "/usr/sbin/dockerd"
    c.tls.serverNotBefore = Date(timeIntervalSince1970: 1_700_000_001)
    c.tls.serverNotAfter = Date(timeIntervalSince1970: 1_800_000_000)
    c.tls.caFingerprint = "AB:CD:EF"
    c.host = HostFacts(
        osID: "debian", osVersion: "12", idLike: ["linux"], prettyName: "Debian GNU/Linux 12 (bookworm)",
        family: "debian", hostname: "web", initSystem: "systemd", architecture: "x86_64")
    c.provisioning.phase = .ready
    c.provisioning.stepsDone = [
        StepRecord(step: .connect, seconds: 1.25, finishedAt: Date(timeIntervalSince1970: 1_700_000_010)),
        StepRecord(step: .installEngine, seconds: 30.5, finishedAt: Date(timeIntervalSince1970: 1_700_000_040)),
    ]
    c.provisioning.lastError = "none \"really\""
    c.provisioning.lastAttemptAt = Date(timeIntervalSince1970: 1_700_000_050)
    return c
}

func posixMode(_ path: String) -> Int? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return Int(st.st_mode & 0o7777)
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Runs a command whose children may outlive it (a detached daemon): posix_spawn with a clean
/// signal mask and default dispositions, no inherited descriptors beyond 0-2, output to files,
/// and waitpid on the command alone (Foundation's Process waits for every inheritor of its pipes,
/// and its children inherit the test thread's blocked signals, so `kill` would not stop them).
func runLeavingChildren(_ argv: [String], in dir: TempDir) throws -> (status: Int32, stdout: String, stderr: String) {
    let id = UUID().uuidString
    let outPath = dir.sub(".\(id).out"), errPath = dir.sub(".\(id).err")
    defer { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // glibc 2.34+; not in the imported headers, so looked up at run time.
    if let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        _ = unsafeBitCast(sym, to: CloseFrom.self)(&actions, 3)
    }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t(), all = sigset_t()
    sigemptyset(&empty)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &empty)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, &attr, &cArgs, environ)
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (
        exit, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    )
}
