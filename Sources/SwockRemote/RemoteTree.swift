import Foundation
import SSHKit

/// A host whose files are reached over SFTP: what `scp` needs (see `SSHSession+Tree.swift` for
/// each call's meaning). `SSHSession` is the direct one; `KeeperHost` carries them through the
/// connection keeper's held session.
public protocol RemoteTree: RemoteHost {
    /// Follows symlinks; nil when nothing is there.
    func stat(_ path: String) async throws -> RemoteFileInfo?
    /// Does not follow a final symlink; nil when nothing is there.
    func lstat(_ path: String) async throws -> RemoteFileInfo?
    /// The server's listing ("." and ".." included): names to be checked before use.
    func listDirectory(_ path: String) async throws -> [(name: String, info: RemoteFileInfo)]
    func makeDirectory(_ path: String, mode: UInt32) async throws
    func setMode(_ path: String, mode: UInt32) async throws
    func readLink(_ path: String) async throws -> String
    func createSymlink(at path: String, pointingTo target: String) async throws
    func removeFile(_ path: String) async throws
    /// Atomic (temporary name, then renamed), with exactly `mode`.
    func uploadFile(_ localPath: String, to remotePath: String, mode: UInt32, progress: TransferProgress?, stop: TransferStop?) async throws
    /// Atomic on the local side (temporary name, then renamed), with exactly `mode`.
    func downloadFile(_ remotePath: String, to localPath: String, mode: UInt32, progress: TransferProgress?, stop: TransferStop?)
        async throws
}

extension SSHSession: RemoteTree {}
