#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Classifies subject-alternative-name strings as IP addresses (raw 4 or 16 bytes) or DNS names.
public enum SubjectAltName {
    /// Returns exactly one of `ip` (4 bytes for IPv4, 16 for IPv6) or `dns` (lowercased, no trailing dot).
    /// IPv6 may be given in brackets ("[::1]"). Throws `PKIError.invalidSubjectAltName` for anything else.
    public static func classify(_ s: String) throws -> (ip: [UInt8]?, dns: String?) {
        func bad(_ reason: String) -> PKIError { .invalidSubjectAltName(s, reason: reason) }

        if s.isEmpty { throw bad("empty") }
        if s.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            throw bad("contains whitespace or control characters")
        }
        if !s.unicodeScalars.allSatisfy(\.isASCII) {
            throw bad("contains non-ASCII characters; use the punycode (xn--) form")
        }

        var text = Substring(s)
        let bracketed = text.hasPrefix("[") || text.hasSuffix("]")
        if bracketed {
            guard text.hasPrefix("["), text.hasSuffix("]"), text.count > 2 else { throw bad("unbalanced brackets") }
            text = text.dropFirst().dropLast()
        }
        if bracketed || text.contains(":") {
            if text.contains("%") { throw bad("IPv6 zone IDs can't be put in a certificate") }
            guard let bytes = parseIPv6(String(text)) else { throw bad("not a valid IPv6 address") }
            return (bytes, nil)
        }
        if text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            guard let bytes = parseIPv4(String(text)) else { throw bad("not a valid IPv4 address") }
            return (bytes, nil)
        }
        return (nil, try validatedDNSName(String(text), original: s))
    }

    /// Classifies every string and drops duplicates (same IP bytes, or same DNS name ignoring case),
    /// keeping the first occurrence's position.
    static func classifyAll(_ names: [String]) throws -> [Classified] {
        var seenIPs = Set<[UInt8]>()
        var seenNames = Set<String>()
        var result: [Classified] = []
        for name in names {
            let c = try classify(name)
            if let ip = c.ip, seenIPs.insert(ip).inserted {
                result.append(.ip(ip))
            } else if let dns = c.dns, seenNames.insert(dns).inserted {
                result.append(.dns(dns))
            }
        }
        return result
    }

    enum Classified: Equatable {
        case ip([UInt8])
        case dns(String)
    }

    // MARK: - DNS

    private static func validatedDNSName(_ text: String, original: String) throws -> String {
        func bad(_ reason: String) -> PKIError { .invalidSubjectAltName(original, reason: reason) }
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name.isEmpty { throw bad("empty DNS name") }
        if name.utf8.count > 253 { throw bad("DNS name longer than 253 characters") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if label.isEmpty { throw bad("empty DNS label") }
            if label.utf8.count > 63 { throw bad("DNS label longer than 63 characters") }
            if label == "*" {
                if index != 0 || labels.count < 2 { throw bad("a wildcard must be the whole leftmost label, as in *.example.com") }
                continue
            }
            for byte in label.utf8 {
                let ok = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D
                if !ok { throw bad("character \"\(Character(UnicodeScalar(byte)))\" is not allowed in a DNS name") }
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { throw bad("a DNS label can't start or end with \"-\"") }
        }
        if let last = labels.last, last.allSatisfy(\.isNumber) {
            throw bad("the last label is numeric, which is neither an IP address nor a DNS name")
        }
        return name
    }

    // MARK: - IP parsing and formatting (inet_pton / inet_ntop)

    /// Strict dotted-quad IPv4 (no leading zeros, each part 0...255).
    static func parseIPv4(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 4)
        let ok = bytes.withUnsafeMutableBytes { inet_pton(AF_INET, text, $0.baseAddress) }
        return ok == 1 ? bytes : nil
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ isHexDigit($0) || $0 == 0x3A || $0 == 0x2E }) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        let ok = bytes.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) }
        return ok == 1 ? bytes : nil
    }

    /// Parses an address as IPv4 or IPv6 (brackets allowed); nil when it is not an IP address.
    static func parseIP(_ text: String) -> [UInt8]? {
        var t = Substring(text)
        if t.hasPrefix("["), t.hasSuffix("]") { t = t.dropFirst().dropLast() }
        return t.contains(":") ? parseIPv6(String(t)) : parseIPv4(String(t))
    }

    /// Canonical text for 4 or 16 raw bytes ("10.0.0.1", "::1"); hex for any other length.
    static func text(forIP bytes: [UInt8]) -> String {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return bytes.map { hex2($0) }.joined()
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        guard ok else { return bytes.map { hex2($0) }.joined() }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }
}

func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
