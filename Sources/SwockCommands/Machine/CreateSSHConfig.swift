import Foundation
import SwockProvision
import SwockStore

/// `create --ssh-config PATH|none`: the OpenSSH client configuration the address is resolved in
/// (default ~/.ssh/config, skipped when it is not there; a file named with the flag must be).
struct CreateSSHConfig {
    /// What create takes from the file for one address (nil fields: the file says nothing).
    struct Resolution: Equatable {
        var hostName: String?
        var user: String?
        var port: Int?
        var identityFile: String?
        var identitiesOnly: Bool?
        var proxyJump: [JumpHost]?
    }

    var choice: String
    var environment: [String: String]

    var home: String { environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() }

    /// nil: no file, or nothing in it for `address`.
    func resolve(_ address: String) throws -> Resolution? {
        guard choice != "none" else { return nil }
        let isDefault = choice == "~/.ssh/config"
        let path = choice == "~" ? home : choice.hasPrefix("~/") ? home + choice.dropFirst() : choice
        let localUser = environment["USER"] ?? environment["LOGNAME"] ?? NSUserName()
        let file: SSHConfigFile?
        do { file = try SSHConfigFile.load(path: path, mustExist: !isDefault, home: home, localUser: localUser) } catch {
            throw UserFacingError(ErrorReport.line(error))
        }
        guard let file else { return nil }
        do {
            let r = try file.resolve(host: address)
            guard !r.isEmpty else { return nil }
            var out = Resolution(
                hostName: r.hostName, user: r.user, port: r.port, identityFile: r.identityFile, identitiesOnly: r.identitiesOnly)
            if let jumps = r.proxyJump, !r.proxyJumpNone {
                do { out.proxyJump = try file.resolveHops(try JumpHost.parseList(jumps)) } catch {
                    throw UserFacingError("ssh config \(path): ProxyJump for \(address): \(error); fix it or pass --ssh-config none")
                }
            }
            return out
        } catch let e as SSHConfigFile.Invalid {
            throw UserFacingError(ErrorReport.line(e))
        }
    }
}
