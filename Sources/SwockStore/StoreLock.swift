import Foundation
import SwockSupport

/// The store-wide lock (flock on `<store>/.lock`). It guards the CA and every read-modify-write
/// of shared files. It is held only for local file work, never across network round trips.
public struct StoreLock: Sendable {
    let path: String

    public func withLock<T>(_ body: () throws -> T) throws -> T {
        do {
            return try FileLock(path: path).withLock(body)
        } catch let e as LocalFileError where e.path == path {
            throw StoreError.io(path: e.path, reason: e.reason)
        }
    }
}
