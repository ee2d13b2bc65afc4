import Foundation
import SSHKit
import SwockSupport

/// One host we run things on: the seam between what provisioning, lifecycle, rm and Swarm decide
/// and how commands reach the host. `SSHSession` (libssh) is the real one (`MachineSSH` opens it);
/// tests use a scripted in-memory host that needs no root and no network.
///
/// The requirements are the primitives; the familiar calls (`exec`, `run`, `execAsRoot`,
/// `runAsRoot`, `installAsRoot`, `upload`, `download`) are built on them below, with the same
/// defaults and errors as `SSHSession`'s own.
public protocol RemoteHost: AnyObject, Sendable {
    /// user@host:port as the host was reached.
    var target: SSHTarget { get }
    /// The host key presented (SHA256:...), for progress lines.
    var hostKeyFingerprint: String { get }
    /// The jump hosts passed on the way, first hop first, with their host keys.
    var jumpHostFingerprints: [(hop: SSHTarget, fingerprint: String)] { get }
    /// The SSH session beneath, for port forwards through its jump hosts (`EngineRoute`); nil
    /// for a host that is not reached over SSH.
    var forwardingSession: SSHSession? { get }

    /// Runs `command` through the login shell, as the login user or (`asRoot`) as root the way
    /// `rootAccess` found. See `SSHSession.exec` for streaming, `collect` and `timeout`.
    func execute(
        _ command: String, asRoot: Bool, stdin: StdinSource, timeout: Duration?, collect: Bool,
        onStdout: OutputHandler?, onStderr: OutputHandler?
    ) async throws -> ExecResult
    /// How root commands run on this host (found once); throws when neither root nor sudo works.
    func rootAccess() async throws -> SSHSession.RootAccess
    /// Installs `files` in root-owned places, with `before` and `then` run as root around them
    /// (`SSHSession.installAsRoot(_:before:then:timeout:)`); returns `then`'s result.
    func installFilesAsRoot(_ files: [RootFile], before: String?, then: String?, timeout: Duration?) async throws -> ExecResult?
    /// Writes `data` to `remotePath` as the login user.
    func uploadData(_ data: Data, to remotePath: String, mode: UInt32) async throws
    /// Copies the local file at `localPath` to `remotePath` as the login user.
    func uploadFile(atPath localPath: String, to remotePath: String, mode: UInt32) async throws
    /// The contents of `remotePath`, read as the login user.
    func downloadData(_ remotePath: String) async throws -> Data
    /// Ends the connection (the host object is not used afterwards).
    func close() async
}

extension RemoteHost {
    public func exec(
        _ command: String, stdin: StdinSource = .none, timeout: Duration? = nil, collect: Bool = true,
        onStdout: OutputHandler? = nil, onStderr: OutputHandler? = nil
    ) async throws -> ExecResult {
        try await execute(command, asRoot: false, stdin: stdin, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
    }

    /// stdout of `command`; a non-zero exit throws `SSHError.commandFailed` with stderr.
    @discardableResult
    public func run(_ command: String, stdin: StdinSource = .none, timeout: Duration? = nil) async throws -> String {
        try await exec(command, stdin: stdin, timeout: timeout).stdoutOrThrow(host: target.host, command: command)
    }

    public func execAsRoot(
        _ command: String, stdin: StdinSource = .none, timeout: Duration? = nil, collect: Bool = true,
        onStdout: OutputHandler? = nil, onStderr: OutputHandler? = nil
    ) async throws -> ExecResult {
        try await execute(command, asRoot: true, stdin: stdin, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
    }

    /// `run` as root.
    @discardableResult
    public func runAsRoot(_ command: String, stdin: StdinSource = .none, timeout: Duration? = nil) async throws -> String {
        try await execAsRoot(command, stdin: stdin, timeout: timeout).stdoutOrThrow(host: target.host, command: command)
    }

    @discardableResult
    public func installAsRoot(
        _ files: [RootFile], before: String? = nil, then: String? = nil,
        timeout: Duration? = .seconds(120)
    ) async throws -> ExecResult? {
        try await installFilesAsRoot(files, before: before, then: then, timeout: timeout)
    }

    public func upload(_ data: Data, to remotePath: String, mode: UInt32 = 0o644) async throws {
        try await uploadData(data, to: remotePath, mode: mode)
    }

    public func upload(file localPath: String, to remotePath: String, mode: UInt32 = 0o644) async throws {
        try await uploadFile(atPath: localPath, to: remotePath, mode: mode)
    }

    public func download(_ remotePath: String) async throws -> Data {
        try await downloadData(remotePath)
    }

    /// " via user@bastion:22 (SHA256:...), ..." for a host reached through jump hosts; "" otherwise.
    public var viaText: String {
        let hops = jumpHostFingerprints
        return hops.isEmpty ? "" : " via " + hops.map { "\($0.hop) (\($0.fingerprint))" }.joined(separator: ", ")
    }
}

/// The real host: a libssh session. Its own `exec`, `run`, `installAsRoot` ... are what the
/// requirements forward to (and what a caller holding an `SSHSession` gets directly).
extension SSHSession: RemoteHost {
    public var forwardingSession: SSHSession? { self }

    public func execute(
        _ command: String, asRoot: Bool, stdin: StdinSource, timeout: Duration?, collect: Bool,
        onStdout: OutputHandler?, onStderr: OutputHandler?
    ) async throws -> ExecResult {
        asRoot
            ? try await execAsRoot(command, stdin: stdin, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
            : try await exec(command, stdin: stdin, timeout: timeout, collect: collect, onStdout: onStdout, onStderr: onStderr)
    }

    public func installFilesAsRoot(_ files: [RootFile], before: String?, then: String?, timeout: Duration?) async throws -> ExecResult? {
        try await installAsRoot(files, before: before, then: then, timeout: timeout)
    }

    public func uploadData(_ data: Data, to remotePath: String, mode: UInt32) async throws {
        try await upload(data, to: remotePath, mode: mode)
    }

    public func uploadFile(atPath localPath: String, to remotePath: String, mode: UInt32) async throws {
        try await upload(file: localPath, to: remotePath, mode: mode)
    }

    public func downloadData(_ remotePath: String) async throws -> Data {
        try await download(remotePath)
    }
}
