import Foundation

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

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return "invalid machine name \"\(Self.printable(name))\": \(reason); names start with a letter or digit and use only letters, digits, '.' and '-'"
        case .alreadyExists(let name):
            return "Docker machine \"\(name)\" already exists; pick another name or remove it first with `swock-machine rm \(name)`"
        case .notFound(let name):
            return "Docker machine \"\(name)\" does not exist; `swock-machine ls` lists the machines"
        case .corrupt(let name, let path, let reason):
            return "machine \"\(name)\": \(path) is unreadable (\(reason)); fix or remove it (`swock-machine rm -f \(name)`)"
        case .unsupportedVersion(let name, let found, let supported):
            return "machine \"\(name)\": config.json has format version \(found), this swock-machine reads up to \(supported); upgrade swock-machine"
        case .missingFile(let name, let path):
            return "machine \"\(name)\": \(path) is missing; run `swock-machine regenerate-certs \(name)` or `swock-machine provision \(name)`"
        case .io(let path, let reason):
            return "store: \(path): \(reason)"
        case .noActiveMachine:
            return "no machine given, no active machine and no machine named \"default\"; name one, or pick one with `swock-machine use NAME`"
        case .crypto(let why):
            return "store: \(why)"
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
