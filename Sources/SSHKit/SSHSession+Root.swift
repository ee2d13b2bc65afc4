import Foundation
import SwockSupport

/// Running things as root: directly when we logged in as root, else through `sudo -n`.
extension SSHSession {
    /// How root commands are run on this host; found once (the first root command asks).
    public enum RootAccess: String, Codable, Sendable, Equatable {
        case loggedInAsRoot
        case sudo
        /// sudo asks for the password (`useSudoPassword`): it goes to `sudo -k -S` as the first
        /// line of the command's stdin, inside the SSH channel, never on a command line; `-k`
        /// makes sudo read it even when it has cached credentials.
        case sudoWithPassword
    }

    /// The password sudo asks for, when the user's sudo is not passwordless.
    public func useSudoPassword(_ password: String) {
        sudoPassword.withLock { $0 = password }
    }

    /// Finds out whether we are root or may use passwordless sudo; throws a clear error otherwise.
    public func rootAccess() async throws -> RootAccess {
        if let known = rootState.withLock({ $0 }) { return known }
        // The script's exit 90: no sudo on the host; 91: sudo wants a password or refuses the user.
        let r = try await exec(Scripts.rootAccess.command(), timeout: SSHOptions.shortCommandTimeout)
        let uid = r.stdoutText.textLines().first.map(String.init)?.trimmingCharacters(in: .whitespaces)
        let access: RootAccess
        if uid == "0" {
            access = .loggedInAsRoot
        } else if r.succeeded {
            access = .sudo
        } else {
            // `sudo -n` fails the same way for sudoers that need a password and for users who
            // may not use sudo at all; membership of the usual admin groups tells them apart.
            let groups = r.stdoutText.textLines().dropFirst().first.map { $0.split(separator: " ").map(String.init) } ?? []
            let admin = !Set(groups).isDisjoint(with: ["sudo", "wheel", "admin"])
            if admin && r.exitStatus == 91 {
                guard let password = sudoPassword.withLock({ $0 }) else {
                    throw SSHError.sudoNeedsPassword(user: target.user, host: target.host)
                }
                let check = try await exec(
                    "sudo -k -S -p '' true", stdin: .data(Data((password + "\n").utf8)), timeout: SSHOptions.shortCommandTimeout)
                guard check.succeeded else { throw SSHError.sudoPasswordRefused(user: target.user, host: target.host) }
                rootState.withLock { $0 = .sudoWithPassword }
                return .sudoWithPassword
            }
            throw SSHError.sudoNotAllowed(user: target.user, host: target.host)
        }
        rootState.withLock { $0 = access }
        return access
    }

    /// `command` wrapped so that it runs as root (through `sh -c`, so pipes and && stay inside).
    public func rootCommand(_ command: String) async throws -> String {
        switch try await rootAccess() {
        case .loggedInAsRoot: return command
        case .sudo: return "sudo -n sh -c \(ShellQuote.quote(command))"
        // -k: sudo ignores credentials it cached and always reads the password line we send
        // first; with a warm cache it would not, and the line would reach the command's stdin.
        case .sudoWithPassword: return "sudo -k -S -p '' sh -c \(ShellQuote.quote(command))"
        }
    }

    /// `exec` as root.
    public func execAsRoot(
        _ command: String, stdin: StdinSource = .none, timeout: Duration? = nil, collect: Bool = true,
        onStdout: OutputHandler? = nil, onStderr: OutputHandler? = nil
    ) async throws -> ExecResult {
        let wrapped = try await rootCommand(command)
        var input = stdin
        if rootState.withLock({ $0 }) == .sudoWithPassword, let password = sudoPassword.withLock({ $0 }) {
            // sudo reads its password one byte at a time up to the newline; the command gets the rest.
            let line = Data((password + "\n").utf8)
            switch stdin {
            case .none: input = .data(line)
            case .data(let d): input = .data(line + d)
            case .fileDescriptor: input = .prefixed(line, fileDescriptor: stdin.descriptor!)
            case .prefixed(let p, let fd): input = .prefixed(line + p, fileDescriptor: fd)
            }
        }
        return try await exec(wrapped, stdin: input, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
    }

    /// `run` as root: stdout on success, `commandFailed` otherwise.
    @discardableResult
    public func runAsRoot(_ command: String, stdin: StdinSource = .none, timeout: Duration? = nil) async throws -> String {
        try await execAsRoot(command, stdin: stdin, timeout: timeout).stdoutOrThrow(host: target.host, command: command)
    }

    /// Installs `files` in root-owned places in one round trip, and runs `before` (as root,
    /// after the bytes arrived, before any file moves) and `then` (after they are all in place)
    /// in the same command. The bytes travel as a tar stream on the command's stdin, inside the
    /// SSH channel (never a command line), are unpacked by root into a private (0700) temporary
    /// directory, and each file is installed with its mode and owner and moved into place
    /// atomically. A host without tar gets them one by one (`installAsRoot(_:at:)`), with
    /// `before` and `then` as commands of their own.
    ///
    /// Throws when a file could not be installed; returns `then`'s result (nil without one).
    @discardableResult
    public func installAsRoot(
        _ files: [RootFile], before: String? = nil, then: String? = nil,
        timeout: Duration? = .seconds(120)
    ) async throws -> ExecResult? {
        let archive = try Tar.write(files.enumerated().map { Tar.Entry.file(String($0.offset), $0.element.data, mode: 0o600) })
        // The files as MODE OWNER GROUP PATH, in the archive's order.
        let fileArguments = files.flatMap { f in [String(f.mode, radix: 8), f.owner, f.owner == "root" ? "root" : f.owner, f.path] }
        let script = Scripts.installFiles.command([before ?? "", then ?? "", Self.installedMark] + fileArguments)
        let r = try await execAsRoot(script, stdin: .data(archive), timeout: timeout)
        let installed = r.stdoutText.textLines().contains { $0 == Self.installedMark }
        if !installed && r.exitStatus == Self.noTarStatus {
            if let before { try await runAsRoot(before, timeout: timeout) }
            for f in files { try await installAsRoot(f.data, at: f.path, mode: f.mode, owner: f.owner) }
            guard let then else { return nil }
            return try await execAsRoot(then, timeout: timeout)
        }
        guard installed else {
            throw SSHError.commandFailed(
                host: target.host, command: "install \(files.map(\.path).joined(separator: ", "))",
                exitStatus: r.exitStatus, signal: r.signal,
                stderr: r.stderrText.isEmpty ? r.stdoutText : r.stderrText)
        }
        guard then != nil else { return nil }
        var rest = r
        rest.stdout = Data(r.stdoutText.textLines(keepingEmpty: true).filter { $0 != Self.installedMark }.joined(separator: "\n").utf8)
        return rest
    }

    /// install-files.sh's status on a host without tar.
    static let noTarStatus: Int32 = 111
    static let installedMark = "==swock-installed"

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
        guard tmpdir.hasPrefix("/") else {
            throw SSHError.sftpFailed(host: target.host, operation: "mktemp", path: tmpdir, reason: "unexpected output")
        }
        do {
            let staged = tmpdir + "/payload"
            try await upload(data, to: staged, mode: 0o600)
            try await runAsRoot(
                Scripts.installStaged.command(staged, String(mode, radix: 8), owner, owner == "root" ? "root" : owner, remotePath))
            try await run("rm -rf \(ShellQuote.quote(tmpdir))")
        } catch {
            _ = try? await exec("rm -rf \(ShellQuote.quote(tmpdir))")
            throw error
        }
    }
}

/// A file for a root-owned place on the host (`installAsRoot(_:before:then:)`).
public struct RootFile: Sendable, Equatable {
    public var path: String
    public var data: Data
    public var mode: UInt32
    public var owner: String

    public init(_ path: String, _ data: Data, mode: UInt32 = 0o600, owner: String = "root") {
        self.path = path
        self.data = data
        self.mode = mode
        self.owner = owner
    }
}
