import Foundation
import SwockSupport

/// Parsing of DOCKER_HOST-style URLs (pure).
enum EngineURL {
    static func parse(_ text: String) throws(EngineError) -> (host: String, port: Int) {
        func bad(_ reason: String) -> EngineError { .invalidURL(text, reason: reason) }
        let trimmed = text.trimmingWhitespace()
        guard let schemeEnd = trimmed.range(of: "://") else { throw bad("missing tcp:// scheme") }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "tcp" || scheme == "https" else {
            throw bad("unsupported scheme \(scheme)://, only tcp:// with TLS is supported")
        }
        var rest = Substring(trimmed[schemeEnd.upperBound...])
        while rest.hasSuffix("/") { rest.removeLast() }
        if rest.contains("/") || rest.contains("?") || rest.contains("#") { throw bad("unexpected path") }
        if rest.contains("@") { throw bad("user info is not supported") }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("unclosed [ in IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("unexpected text after ]") }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { throw bad("brackets are only for IPv6 addresses") }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            let port = rest[rest.index(after: colon)...]
            if port.contains(":") { throw bad("IPv6 addresses need brackets: tcp://[ADDR]:PORT") }
            portText = port
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw bad("missing host") }
        guard host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "[" && $0 != "]" }) else {
            throw bad("invalid host")
        }
        var port = EngineEndpoint.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy(\.isASCII), let p = Int(portText), (1...65535).contains(p) else {
                throw bad("invalid port \"\(portText)\"")
            }
            port = p
        }
        return (String(host), port)
    }
}
