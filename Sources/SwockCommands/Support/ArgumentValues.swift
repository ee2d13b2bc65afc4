import ArgumentParser
import Foundation
import SSHKit
import SwockClient
import SwockPKI

// Option values with a fixed set of spellings are parsed by ArgumentParser, which lists them in
// `--help` and refuses anything else with the list of accepted values.

/// `create --engine-install auto|none|bundle:PATH`.
enum EngineInstallChoice: ExpressibleByArgument, Equatable {
    case auto, none
    /// A local folder of .deb files, for hosts that reach no repository.
    case bundle(String)

    init?(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "none": self = .none
        default:
            guard argument.hasPrefix("bundle:"), argument.count > "bundle:".count else { return nil }
            let path = String(argument.dropFirst("bundle:".count))
            self = .bundle(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
        }
    }

    static var allValueStrings: [String] { ["auto", "none", "bundle:PATH"] }
    var defaultValueDescription: String { "auto" }
}

/// `create --ssh-host-key accept-new|strict`.
extension HostKeyPolicy: ExpressibleByArgument {}

/// `env --shell bash|zsh|...`.
extension ShellEnv.Shell: ExpressibleByArgument {}

/// `create --tls-key-type ecdsa|rsa`, also every other spelling `KeyType(cliName:)` takes
/// (ecdsa-p256, p256, rsa-2048, ..., in any case). A type of its own rather than `KeyType`
/// itself: ArgumentParser shows a raw-valued enum's default by its raw value ("ecdsa-p256").
enum TLSKeyType: String, CaseIterable, ExpressibleByArgument {
    case ecdsa, rsa

    init?(argument: String) {
        guard let k = try? KeyType(cliName: argument), let t = TLSKeyType(rawValue: k.cliName) else { return nil }
        self = t
    }

    var keyType: KeyType {
        switch self {
        case .ecdsa: return .ecdsaP256
        case .rsa: return .rsa2048
        }
    }
}

/// A number of seconds given on the command line (`--timeout`): finite and at most a week, so
/// that turning it into a `Duration` (whole milliseconds in an Int) cannot trap on `inf`, `nan`
/// or `1e300`.
enum SecondsOption {
    static let maximum: Double = 7 * 86_400

    /// Throws a usage error naming `flag` unless `value` is a finite number of seconds in range
    /// (above 0, or 0 and up with `allowZero`).
    static func check(_ value: Double, flag: String, allowZero: Bool = false) throws {
        let low = allowZero ? value >= 0 : value > 0
        guard value.isFinite, low, value <= maximum else {
            throw ValidationError(
                "\(flag) must be a number of seconds \(allowZero ? "from 0" : "above 0") up to \(Int(maximum)) (a week); got \(value)")
        }
    }

    static func duration(_ value: Double) -> Duration { .milliseconds(Int((value * 1000).rounded())) }
}
