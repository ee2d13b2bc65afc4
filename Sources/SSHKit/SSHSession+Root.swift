import Foundation
import SwockSupport

/// Running things as root: directly when we logged in as root, else through `sudo -n`.
extension SSHSession {
    /// How root commands are run on this host; found once (the first root command asks).
    public enum RootAccess: Sendable, Equatable {
        case loggedInAsRoot
        case sudo
    }

    /// Finds out whether we are root or may use passwordless sudo; throws a clear error otherwise.
    public func rootAccess() async throws -> RootAccess {
        if let known = rootState.value { return known }
        let r = try await exec("id -u && id -Gn && { [ \"$(id -u)\" = 0 ] || sudo -n true; }", timeout: .seconds(30))
        let uid = r.stdoutText.textLines().first.map(String.init)?.trimmingCharacters(in: .whitespaces)
        let access: RootAccess
        if uid == "0" {
            access = .loggedInAsRoot
        } else if r.succeeded {
            access = .sudo
        } else {
            // `sudo -n` says "a password is required" both to sudoers and to users who may not
            // use sudo at all; membership of the usual admin groups tells them apart.
            let err = r.stderrText.lowercased()
            let groups = r.stdoutText.textLines().dropFirst().first.map { $0.split(separator: " ").map(String.init) } ?? []
            let admin = !Set(groups).isDisjoint(with: ["sudo", "wheel", "admin"])
            if admin && (err.contains("password is required") || err.contains("a terminal is required")) {
                throw SSHError.sudoNeedsPassword(user: target.user, host: target.host)
            }
            throw SSHError.sudoNotAllowed(user: target.user, host: target.host)
        }
        rootState.set(access)
        return access
    }

    /// `command` wrapped so that it runs as root (through `sh -c`, so pipes and && stay inside).
    public func rootCommand(_ command: String) async throws -> String {
        switch try await rootAccess() {
        case .loggedInAsRoot: return command
        case .sudo: return "sudo -n sh -c \(ShellQuote.quote(command))"
        }
    }

    /// `exec` as root.
    public func execAsRoot(
        _ command: String, stdin: StdinSource = .none, timeout: Duration? = nil, collect: Bool = true,
        onStdout: OutputHandler? = nil, onStderr: OutputHandler? = nil
    ) async throws -> ExecResult {
        try await exec(rootCommand(command), stdin: stdin, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
    }

    /// `run` as root: stdout on success, `commandFailed` otherwise.
    @discardableResult
    public func runAsRoot(_ command: String, stdin: StdinSource = .none, timeout: Duration? = nil) async throws -> String {
        try await execAsRoot(command, stdin: stdin, timeout: timeout).stdoutOrThrow(host: target.host, command: command)
    }

    /// Installs `data` at a root-owned `remotePath` with `mode`, atomically. The bytes travel only
    /// through SFTP into a private (0700) temporary directory of the login user; no secret is ever
    /// part of a command line.
    public func installAsRoot(_ data: Data, at remotePath: String, mode: UInt32 = 0o600, owner: String = "root") async throws {
        if try await rootAccess() == .loggedInAsRoot {
            let dir = PathText.parent(remotePath)
            try await run("mkdir -p \(ShellQuote.quote(dir))")
            try await upload(data, to: remotePath, mode: mode)
            return
        }
        let tmpdir = try await run("mktemp -d \"${TMPDIR:-/tmp}/swock.XXXXXXXX\"").trimmingCharacters(in: .whitespacesAndNewlines)
        guard tmpdir.hasPrefix("/") else { throw SSHError.sftpFailed(host: target.host, operation: "mktemp", path: tmpdir, reason: "unexpected output") }
        do {
            let staged = tmpdir + "/payload"
            try await upload(data, to: staged, mode: 0o600)
            let q = ShellQuote.quote
            let newPath = remotePath + ".swock-new"
            try await runAsRoot("""
                mkdir -p \(q(PathText.parent(remotePath))) && \
                install -m \(String(mode, radix: 8)) -o \(q(owner)) -g \(q(owner == "root" ? "root" : owner)) \(q(staged)) \(q(newPath)) && \
                mv -f \(q(newPath)) \(q(remotePath))
                """)
            try await run("rm -rf \(q(tmpdir))")
        } catch {
            _ = try? await exec("rm -rf \(ShellQuote.quote(tmpdir))")
            throw error
        }
    }
}

/// A value set once and read from any thread.
final class LockedValue<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ v: T) { lock.lock(); stored = v; lock.unlock() }
}
