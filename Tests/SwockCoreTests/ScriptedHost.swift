import Foundation
import SSHKit
import SwockRemote
import SwockSupport

/// A `RemoteHost` in memory, for unit tests of what provisioning, lifecycle, rm and Swarm run on
/// a host: each command is matched against the expectations (exact text, or a predicate), in the
/// order they were given, and answered with their scripted output, exit status or error. A
/// command no expectation matches throws `Unexpected` (and is recorded), so a test sees it.
/// Everything is recorded: the commands (as the login user or as root, with their stdin), the
/// files installed as root, the uploads.
final class ScriptedHost: RemoteHost, @unchecked Sendable {
    struct Command: Equatable, CustomStringConvertible {
        var text: String
        var asRoot: Bool
        var stdin: Data?
        var description: String { (asRoot ? "root$ " : "$ ") + (RemoteScript.summary(of: text) ?? text) }

        /// Runs `script` with arguments that start with `arguments` (alone, or as one of the
        /// command lines it is made of).
        func runs(_ script: RemoteScript, _ arguments: String...) -> Bool {
            text.contains(script.command(arguments))
        }
    }

    /// What an expectation answers with.
    enum Reply {
        case output(stdout: String, stderr: String = "", status: Int32 = 0)
        case killed(signal: String, stderr: String = "")
        case error(Error)
        /// The connection drops: this command and every later call throw `SSHError.connectionLost`.
        case connectionLost

        static let ok = Reply.output(stdout: "")
        static func fails(_ status: Int32, stderr: String) -> Reply { .output(stdout: "", stderr: stderr, status: status) }
    }

    struct Expectation {
        var label: String
        var matches: (Command) -> Bool
        var reply: Reply
        /// How many more commands it answers (nil: any number).
        var remaining: Int?
    }

    /// A command the script did not expect.
    struct Unexpected: Error, CustomStringConvertible {
        var command: Command
        var description: String { "unexpected command on the scripted host: \(command)" }
    }

    let target: SSHTarget
    let hostKeyFingerprint = "SHA256:scripted"
    let jumpHostFingerprints: [(hop: SSHTarget, fingerprint: String)] = []
    var forwardingSession: SSHSession? { nil }

    private let lock = NSLock()
    private var expectations: [Expectation] = []
    private var _ran: [Command] = []
    private var _installed: [RootFile] = []
    private var _uploaded: [(path: String, data: Data)] = []
    private var _lost = false
    private var _closed = false
    private var access: Result<SSHSession.RootAccess, Error>

    init(user: String = "root", host: String = "127.0.0.1", access: Result<SSHSession.RootAccess, Error> = .success(.loggedInAsRoot)) {
        target = SSHTarget(host: host, port: 22, user: user)
        self.access = access
    }

    // MARK: - Script

    /// Answers the commands for which `predicate` holds (`times` of them, or all).
    @discardableResult
    func on(_ label: String, times: Int? = nil, where predicate: @escaping (Command) -> Bool, _ reply: Reply) -> Self {
        locked { expectations.append(Expectation(label: label, matches: predicate, reply: reply, remaining: times)) }
        return self
    }

    /// Answers the command whose text is exactly `text`.
    @discardableResult
    func on(exactly text: String, times: Int? = nil, _ reply: Reply) -> Self {
        on(String(text.prefix(60)), times: times, where: { $0.text == text }, reply)
    }

    /// Answers the commands that contain `fragment`.
    @discardableResult
    func on(containing fragment: String, times: Int? = nil, _ reply: Reply) -> Self {
        on(fragment, times: times, where: { $0.text.contains(fragment) }, reply)
    }

    /// The connection drops at the first command containing `fragment`.
    func dropConnection(at fragment: String) { on(containing: fragment, .connectionLost) }

    // MARK: - Record

    var ran: [Command] { locked { _ran } }
    var installed: [RootFile] { locked { _installed } }
    var uploaded: [(path: String, data: Data)] { locked { _uploaded } }
    var closed: Bool { locked { _closed } }
    /// The index of the first command that contains `fragment` (nil when none ran).
    func index(of fragment: String) -> Int? { ran.firstIndex { $0.text.contains(fragment) } }
    func ran(containing fragment: String) -> [Command] { ran.filter { $0.text.contains(fragment) } }

    // MARK: - RemoteHost

    func execute(
        _ command: String, asRoot: Bool, stdin: StdinSource, timeout: Duration?, collect: Bool,
        onStdout: OutputHandler?, onStderr: OutputHandler?
    ) async throws -> ExecResult {
        if asRoot { _ = try await rootAccess() }
        var input: Data?
        if case .data(let d) = stdin { input = d }
        let c = Command(text: command, asRoot: asRoot, stdin: input)
        let reply: Reply = try locked {
            _ran.append(c)
            if _lost { throw SSHError.connectionLost(host: target.host, reason: "scripted: the connection was lost earlier") }
            guard let i = expectations.firstIndex(where: { ($0.remaining ?? 1) > 0 && $0.matches(c) }) else { throw Unexpected(command: c) }
            if let r = expectations[i].remaining { expectations[i].remaining = r - 1 }
            if case .connectionLost = expectations[i].reply { _lost = true }
            return expectations[i].reply
        }
        switch reply {
        case .output(let out, let err, let status):
            if !out.isEmpty { onStdout?(Data(out.utf8)) }
            if !err.isEmpty { onStderr?(Data(err.utf8)) }
            return ExecResult(
                exitStatus: status, signal: nil, stdout: collect ? Data(out.utf8) : Data(),
                stderr: collect ? Data(err.utf8) : Data(), duration: .zero)
        case .killed(let signal, let err):
            if !err.isEmpty { onStderr?(Data(err.utf8)) }
            return ExecResult(exitStatus: nil, signal: signal, stdout: Data(), stderr: collect ? Data(err.utf8) : Data(), duration: .zero)
        case .error(let e):
            throw e
        case .connectionLost:
            throw SSHError.connectionLost(host: target.host, reason: "scripted: connection reset by peer")
        }
    }

    func rootAccess() async throws -> SSHSession.RootAccess {
        try locked {
            if _lost { throw SSHError.connectionLost(host: target.host, reason: "scripted: the connection was lost earlier") }
            return try access.get()
        }
    }

    /// Like `SSHSession.installAsRoot`: `before` runs first (a failure installs nothing), then the
    /// files are in place, then `then` runs and its result is returned.
    func installFilesAsRoot(_ files: [RootFile], before: String?, then: String?, timeout: Duration?) async throws -> ExecResult? {
        if let before {
            let r = try await execute(before, asRoot: true, stdin: .none, timeout: timeout, collect: true, onStdout: nil, onStderr: nil)
            guard r.succeeded else {
                throw SSHError.commandFailed(
                    host: target.host, command: "install \(files.map(\.path).joined(separator: ", "))",
                    exitStatus: r.exitStatus, signal: r.signal, stderr: r.stderrText)
            }
        }
        try locked {
            if _lost { throw SSHError.connectionLost(host: target.host, reason: "scripted: the connection was lost earlier") }
            _installed += files
        }
        guard let then else { return nil }
        return try await execute(then, asRoot: true, stdin: .none, timeout: timeout, collect: true, onStdout: nil, onStderr: nil)
    }

    func uploadData(_ data: Data, to remotePath: String, mode: UInt32) async throws {
        try locked {
            if _lost { throw SSHError.connectionLost(host: target.host, reason: "scripted: the connection was lost earlier") }
            _uploaded.append((remotePath, data))
        }
    }

    func uploadFile(atPath localPath: String, to remotePath: String, mode: UInt32) async throws {
        guard let data = FileManager.default.contents(atPath: localPath) else {
            throw SSHError.localIO(path: localPath, reason: "no such file")
        }
        try await uploadData(data, to: remotePath, mode: mode)
    }

    func downloadData(_ remotePath: String) async throws -> Data {
        let c = Command(text: "download \(remotePath)", asRoot: false, stdin: nil)
        let r = try await execute(c.text, asRoot: false, stdin: .none, timeout: nil, collect: true, onStdout: nil, onStderr: nil)
        return r.stdout
    }

    func close() async { locked { _closed = true } }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }
}
