import Foundation
import SwockSupport

/// Everything that can go wrong in the SSH layer. Each description is one line that says what went
/// wrong; what to do next in terms of the command line (flags, variables) is added by
/// SwockCommands from the case.
public enum SSHError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidTarget(String)
    case connectTimedOut(host: String, port: Int, seconds: Double)
    case connectFailed(host: String, port: Int, reason: String)
    /// The TCP connection was made, then closed or refused before we were in (banner, key
    /// exchange): sshd dropping handshakes beyond its MaxStartups looks like this.
    case handshakeFailed(host: String, port: Int, reason: String)
    case hostKeyUnknown(host: String, fingerprint: String, knownHosts: String)
    case hostKeyChanged(host: String, expected: String, presented: String, knownHosts: String)
    /// The key is not one of the fingerprints the caller expects (`SSHOptions.expectedHostKeys`).
    case hostKeyNotExpected(host: String, expected: [String], presented: String)
    case hostKeyCheckFailed(host: String, reason: String)
    case keyFileUnreadable(path: String, reason: String)
    /// Not a private key, or an encrypted one without (`passphraseGiven` false) or with the
    /// wrong passphrase.
    case keyNotUsable(path: String, passphraseGiven: Bool)
    case authenticationFailed(user: String, host: String, tried: [String], offered: [String], detail: String?)
    case channelFailed(host: String, reason: String)
    case commandTimedOut(host: String, seconds: Double)
    case commandFailed(host: String, command: String, exitStatus: Int32?, signal: String?, stderr: String)
    case sudoNeedsPassword(user: String, host: String)
    case sudoPasswordRefused(user: String, host: String)
    case sudoNotAllowed(user: String, host: String)
    case sftpFailed(host: String, operation: String, path: String, reason: String, status: SFTPStatus = .other)
    /// `errno`: the system's error number, when a system call failed.
    case localIO(path: String, reason: String, errno: Int32? = nil)
    case disconnected(host: String)
    case connectionLost(host: String, reason: String)
    case forwardFailed(via: String, to: String, reason: String)
    indirect case viaJumpHost(hop: String, SSHError)

    public var description: String {
        switch self {
        case .invalidTarget(let why):
            return "ssh: \(why)"
        case .connectTimedOut(let host, let port, let seconds):
            return
                "ssh: connecting to \(host) port \(port) timed out after \(Self.seconds(seconds)); check the address and that sshd is running and reachable"
        case .connectFailed(let host, let port, let reason), .handshakeFailed(let host, let port, let reason):
            return "ssh: cannot connect to \(host) port \(port): \(reason); check the address, the port and that sshd is running"
        case .hostKeyUnknown(let host, let fp, let kh):
            return
                "ssh: host key of \(host) (\(fp)) is not in \(kh) and strict checking is on; verify the fingerprint, then connect once with accept-new"
        case .hostKeyChanged(let host, let expected, let presented, let kh):
            return
                "ssh: HOST KEY OF \(host) HAS CHANGED: expected \(expected) (pinned in \(kh)), presented \(presented); if the host was really reinstalled, remove the pinned key and connect again, otherwise someone may be intercepting the connection"
        case .hostKeyNotExpected(let host, let expected, let presented):
            return
                "ssh: host key of \(host) is \(presented), not the one expected (\(expected.joined(separator: " or "))); nothing was trusted: check where the expected fingerprint came from, otherwise someone may be intercepting the connection"
        case .hostKeyCheckFailed(let host, let reason):
            return "ssh: cannot check the host key of \(host): \(reason)"
        case .keyFileUnreadable(let path, let reason):
            return "ssh: cannot use private key \(path): \(reason)"
        case .keyNotUsable(let path, let given):
            return "ssh: cannot use private key \(path): "
                + (given
                    ? "not a private key, or the passphrase is wrong" : "not a private key, or it is encrypted and no passphrase was given")
        case .authenticationFailed(let user, let host, let tried, let offered, let detail):
            let t = tried.isEmpty ? "none" : tried.joined(separator: ", ")
            let o = offered.isEmpty ? "none" : offered.joined(separator: ", ")
            let d = detail.map { " (\($0))" } ?? ""
            return "ssh: authentication as \(user)@\(host) failed; tried: \(t); server offers: \(o)\(d)"
        case .channelFailed(let host, let reason):
            return "ssh: channel to \(host) failed: \(reason)"
        case .commandTimedOut(let host, let seconds):
            return "ssh: command on \(host) did not finish within \(Self.seconds(seconds)) and was stopped"
        case .commandFailed(let host, let command, let status, let signal, let stderr):
            let how = signal.map { "was killed by SIG\($0)" } ?? "exited with status \(status.map(String.init) ?? "unknown")"
            let tail = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                .textLines().suffix(3).joined(separator: " / ")
            return "ssh: `\(Self.short(command))` on \(host) \(how)\(tail.isEmpty ? "" : ": \(tail)")"
        case .sudoNeedsPassword(let user, let host):
            return "ssh: \(user)@\(host) needs a password for sudo"
        case .sudoPasswordRefused(let user, let host):
            return "ssh: sudo on \(host) refused the password given for \(user)"
        case .sudoNotAllowed(let user, let host):
            return "ssh: \(user)@\(host) may not use sudo; add the user to sudoers (NOPASSWD) or connect as root"
        case .sftpFailed(let host, let op, let path, let reason, _):
            return "sftp: \(op) \(path) on \(host) failed: \(reason)"
        case .localIO(let path, let reason, _):
            return "ssh: local file \(path): \(reason)"
        case .disconnected(let host):
            return "ssh: the connection to \(host) is closed"
        case .connectionLost(let host, let reason):
            return "ssh: lost the connection to \(host) (\(reason)); check that the host is up and reachable, then retry"
        case .forwardFailed(let via, let to, let reason):
            return
                "ssh: jump host \(via) cannot reach \(to): \(reason); check that \(to) is up and reachable from \(via), and that its sshd allows TCP forwarding"
        case .viaJumpHost(let hop, let e):
            return "ssh: jump host \(hop): " + e.descriptionWithoutLayer
        }
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }

    static func short(_ command: String) -> String {
        // A script of ours (`RemoteScript`): its name and arguments, not its text.
        let oneLine = (RemoteScript.summary(of: command) ?? command).replacingOccurrences(of: "\n", with: " ")
        return oneLine.count > 80 ? String(oneLine.prefix(77)) + "..." : oneLine
    }

    /// A local system call on `path` that failed: the current `errno`, as text and as a value.
    public static func localErrno(_ path: String) -> SSHError {
        let code = Glibc.errno
        return .localIO(path: path, reason: String(cString: strerror(code)), errno: code)
    }

    /// The description without its "ssh: " (the words after the layer's name), for nesting.
    var descriptionWithoutLayer: String {
        let d = description
        switch self {
        case .sftpFailed: return d
        default: return String(d.dropFirst("ssh: ".count))
        }
    }
}

/// What an SFTP request failed with (the server's status, or the connection gone).
public enum SFTPStatus: String, Sendable, Equatable, Codable {
    case noSuchFile, permissionDenied, failure, noSuchPath, fileExists, writeProtect, noMedia, disconnected, other
}

extension SSHError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .invalidTarget: return "ssh.invalid-target"
        case .connectTimedOut: return "ssh.connect-timed-out"
        case .connectFailed: return "ssh.connect-failed"
        case .handshakeFailed: return "ssh.handshake-failed"
        case .hostKeyUnknown: return "ssh.host-key-unknown"
        case .hostKeyChanged: return "ssh.host-key-changed"
        case .hostKeyNotExpected: return "ssh.host-key-not-expected"
        case .hostKeyCheckFailed: return "ssh.host-key-check-failed"
        case .keyFileUnreadable: return "ssh.key-file-unreadable"
        case .keyNotUsable: return "ssh.key-not-usable"
        case .authenticationFailed: return "ssh.auth-failed"
        case .channelFailed: return "ssh.channel-failed"
        case .commandTimedOut: return "ssh.command-timed-out"
        case .commandFailed: return "ssh.command-failed"
        case .sudoNeedsPassword: return "ssh.sudo-needs-password"
        case .sudoPasswordRefused: return "ssh.sudo-password-refused"
        case .sudoNotAllowed: return "ssh.sudo-not-allowed"
        case .sftpFailed: return "ssh.sftp-failed"
        case .localIO: return "ssh.local-io"
        case .disconnected: return "ssh.disconnected"
        case .connectionLost: return "ssh.connection-lost"
        case .forwardFailed: return "ssh.forward-failed"
        case .viaJumpHost: return "ssh.via-jump-host"
        }
    }

    public var cause: (any Error)? {
        if case .viaJumpHost(_, let inner) = self { return inner }
        return nil
    }
}

/// Carried whole between a command and the connection keeper (SwockRemote's KeeperReply).
extension SSHError: Codable {}

extension SSHError {
    /// The same error with the known_hosts file `path` named `shown` (a staging copy is no
    /// name to show): decided on the cases' values, never on the text.
    public func knownHosts(_ path: String, shownAs shown: String) -> SSHError {
        switch self {
        case .hostKeyUnknown(let host, let fp, let kh) where kh == path:
            return .hostKeyUnknown(host: host, fingerprint: fp, knownHosts: shown)
        case .hostKeyChanged(let host, let expected, let presented, let kh) where kh == path:
            return .hostKeyChanged(host: host, expected: expected, presented: presented, knownHosts: shown)
        case .viaJumpHost(let hop, let inner):
            return .viaJumpHost(hop: hop, inner.knownHosts(path, shownAs: shown))
        default:
            return self
        }
    }
}
