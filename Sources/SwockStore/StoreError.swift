import Foundation
import SwockSupport

/// What the store can fail with. The descriptions say what is wrong; what to run next is added by
/// SwockCommands from the case (`ErrorReport`).
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case invalidName(String, reason: String)
    case alreadyExists(String)
    case notFound(String)
    case corrupt(name: String, path: String, reason: String)
    case unsupportedVersion(name: String, found: Int, supported: Int)
    case missingFile(name: String, path: String)
    case io(path: String, reason: String)
    case noActiveMachine
    case crypto(String)
    /// An imported machine whose CA came without its key: nothing can be signed for it.
    case importedWithoutCAKey(String)

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return
                "invalid machine name \"\(Self.printable(name))\": \(reason); names start with a letter or digit and use only letters, digits, '.' and '-'"
        case .alreadyExists(let name):
            return "Docker machine \"\(name)\" already exists"
        case .notFound(let name):
            return "Docker machine \"\(name)\" does not exist"
        case .corrupt(let name, let path, let reason):
            return "machine \"\(name)\": \(path) is unreadable (\(reason))"
        case .unsupportedVersion(let name, let found, let supported):
            return
                "machine \"\(name)\": config.json has format version \(found), this swock-machine reads up to \(supported); upgrade swock-machine"
        case .missingFile(let name, let path):
            return "machine \"\(name)\": \(path) is missing"
        case .io(let path, let reason):
            return "store: \(path): \(reason)"
        case .noActiveMachine:
            return "no machine given, no active machine and no machine named \"default\""
        case .crypto(let why):
            return "store: \(why)"
        case .importedWithoutCAKey(let name):
            return "store: machine \"\(name)\" was imported without its CA's key, so no certificate can be signed for it"
        }
    }

    /// Control characters shown as escapes: an error stays one line and never drives the terminal.
    package static func printable(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) {
                out += "\\u{" + String(u.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}

extension StoreError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .invalidName: return "store.invalid-name"
        case .alreadyExists: return "store.already-exists"
        case .notFound: return "store.not-found"
        case .corrupt: return "store.corrupt"
        case .unsupportedVersion: return "store.unsupported-version"
        case .missingFile: return "store.missing-file"
        case .io: return "store.io"
        case .noActiveMachine: return "store.no-active-machine"
        case .crypto: return "store.crypto"
        case .importedWithoutCAKey: return "store.ca-key-not-imported"
        }
    }
}
