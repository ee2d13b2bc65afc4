import Foundation
import SwockSupport

/// One bastion on the way to a machine (`--generic-ssh-proxy-jump [user@]host[:port]`, several
/// comma-separated, first hop first, as OpenSSH's -J). Stored in the record, so every later
/// session (ssh, scp, exec, lifecycle, regenerate-certs) and the Engine API route go through it.
public struct JumpHost: Codable, Sendable, Equatable, CustomStringConvertible {
    /// nil: the machine's own SSH user.
    public var user: String?
    public var host: String
    public var port: Int

    public init(user: String? = nil, host: String, port: Int = 22) {
        self.user = user
        self.host = host
        self.port = port
    }

    /// `user@host:port` as given (user and port only when given or not 22).
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return (user.map { $0 + "@" } ?? "") + h + (port == 22 ? "" : ":\(port)")
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Parses `[user@]host[:port][,[user@]host[:port]...]`; IPv6 hosts in brackets (`[fd00::1]:2222`).
    public static func parseList(_ text: String) throws(ParseError) -> [JumpHost] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw ParseError(description: "\"\(text)\" has an empty hop; give [user@]host[:port], comma-separated for several hops")
        }
        var hops: [JumpHost] = []
        for p in parts { hops.append(try parse(p)) }
        return hops
    }

    public static func parse(_ text: String) throws(ParseError) -> JumpHost {
        func bad(_ why: String) -> ParseError { ParseError(description: "jump host \"\(text)\": \(why); give [user@]host[:port]") }
        var rest = Substring(text)
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            guard let u = user, let first = u.utf8.first, first != UInt8(ascii: "-"), NameCharacters(lettersDigitsAnd: "._-").accepts(u)
            else {
                throw bad("the user name is empty or has characters a user name cannot have")
            }
        }
        var host: String
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("an opening [ without ]") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("unexpected text after ]") }
                portText = after.dropFirst()
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            host = String(rest)  // a bare IPv6 address
        } else if let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard NameCharacters.host.accepts(host) else {
            throw bad("the host is empty or is not an IP address or host name")
        }
        var port = 22
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("port \"\(portText)\" is not a number in 1-65535") }
            port = p
        }
        return JumpHost(user: user, host: host, port: port)
    }
}
