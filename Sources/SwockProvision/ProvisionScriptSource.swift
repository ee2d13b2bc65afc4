import Foundation
import SwockSupport

/// A script given with `--provision-script FILE`, read when the request is made.
public struct ProvisionScriptSource: Sendable, Equatable {
    /// The script's absolute path (`--rerun-scripts` reads it again from there).
    public var source: String
    public var contents: Data

    public init(source: String, contents: Data) {
        self.source = source
        self.contents = contents
    }

    /// Reads `path` (`~` expanded); a missing or unreadable file is refused naming `flag`.
    public static func read(_ path: String, flag: String) throws -> ProvisionScriptSource {
        let full = (path as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: full) else {
            throw ProvisionScriptUnreadable(flag: flag, path: path, exists: FileManager.default.fileExists(atPath: full))
        }
        let absolute = full.hasPrefix("/") ? full : FileManager.default.currentDirectoryPath + "/" + full
        return ProvisionScriptSource(source: (absolute as NSString).standardizingPath, contents: data)
    }
}

public struct ProvisionScriptUnreadable: CodedError, Equatable {
    public var code: ErrorCode { "provision.script-unreadable" }
    public var flag: String
    public var path: String
    public var exists: Bool
    public var description: String { "\(flag) \(path): \(exists ? "cannot read it" : "no such file"); give the path of a readable script" }
}
