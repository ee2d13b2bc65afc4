import Foundation
import SwockPKI
import SwockSupport

extension Store {
    /// What the machines' server certificates cover, kept between commands (`<root>/server-names`,
    /// 0600): `ls` and `regenerate-certs` compare every machine's certificate with every other
    /// machine's address, and parsing a thousand certificates was most of an `ls` over a
    /// thousand records. Keyed by the SHA-256 of each `server.pem`'s bytes, so an entry can only
    /// ever describe the very certificate it was made from; nothing else invalidates it. Not
    /// exported, never needed: deleting it costs one slower listing.
    public static let certificateNamesFile = "server-names"

    public var certificateNamesPath: String { root + "/" + Self.certificateNamesFile }

    /// The names each machine's stored server certificate covers, by machine name. A machine
    /// without a readable `server.pem`, or whose `server.pem` does not parse, has no entry.
    /// Certificates seen before come from the cache file; the others are parsed, and the cache
    /// is rewritten (atomically, under the store lock when it is free, otherwise left to the next
    /// run) with exactly the certificates of `machines`. A cache file that is unreadable,
    /// corrupt or of another format is ignored and rewritten; one that cannot be written (a
    /// read-only store) changes nothing but speed.
    public func serverCertificateNames(_ machines: [String]) -> [String: CertificateNames] {
        let path = certificateNamesPath
        let loaded = CertificateNamesCache.parse(FileManager.default.contents(atPath: path))
        let known: [String: CertificateNames]
        switch loaded {
        case .valid(let entries): known = entries
        case .absent, .corrupt: known = [:]
        }
        var kept: [String: CertificateNames] = [:]
        var out: [String: CertificateNames] = [:]
        for name in machines {
            guard let data = FileManager.default.contents(atPath: machineDir(name) + "/server.pem") else { continue }
            let key = Digests.sha256Hex(data)
            if let names = kept[key] ?? known[key] {
                out[name] = names
                kept[key] = names
                continue
            }
            guard let names = try? CertificateNames(pem: String(decoding: data, as: UTF8.self)) else { continue }
            out[name] = names
            if CertificateNamesCache.canKeep(names) { kept[key] = names }
        }
        let rewrite: Bool
        switch loaded {
        case .absent: rewrite = !kept.isEmpty
        case .corrupt: rewrite = true
        case .valid(let entries): rewrite = entries != kept
        }
        if rewrite {
            let data = CertificateNamesCache.encode(kept)
            _ = try? lock.withLockIfFree { try AtomicFile.write(data, to: path, mode: 0o600) }
        }
        return out
    }
}

/// The cache file's text: a header line, one line per certificate (the PEM's SHA-256 in hex,
/// then a tab before each name: `ip:10.231.1.10`, `dns:web1.example`), and a last line with the
/// SHA-256 of everything above it. Anything else, a changed byte included, makes the whole file
/// corrupt. Names with control characters are never written (their certificates are parsed on
/// every run instead).
enum CertificateNamesCache {
    static let header = "swock-machine server certificate names 1\n"

    enum Loaded: Equatable {
        case absent
        case corrupt
        case valid([String: CertificateNames])
    }

    static func canKeep(_ names: CertificateNames) -> Bool {
        (names.ipAddresses + names.dnsNames).allSatisfy { n in
            n.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f }
        }
    }

    static func encode(_ entries: [String: CertificateNames]) -> Data {
        var body = header
        for (key, names) in entries.sorted(by: { $0.key < $1.key }) {
            body += key
            for ip in names.ipAddresses { body += "\tip:" + ip }
            for dns in names.dnsNames { body += "\tdns:" + dns }
            body += "\n"
        }
        let bytes = Data(body.utf8)
        return bytes + Data(("sum " + Digests.sha256Hex(bytes) + "\n").utf8)
    }

    static func parse(_ data: Data?) -> Loaded {
        guard let data else { return .absent }
        // The last line: "sum " + 64 hex digits + "\n".
        let trailer = 4 + 64 + 1
        guard data.count >= header.utf8.count + trailer, data.last == 0x0a else { return .corrupt }
        let body = data.prefix(data.count - trailer)
        guard String(decoding: data.suffix(trailer), as: UTF8.self) == "sum " + Digests.sha256Hex(body) + "\n" else {
            return .corrupt
        }
        guard let text = String(data: body, encoding: .utf8), text.hasPrefix(header), text.hasSuffix("\n") else {
            return .corrupt
        }
        var entries: [String: CertificateNames] = [:]
        let lines = text.dropFirst(header.count)
        for line in lines.isEmpty ? [] : lines.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let key = String(fields[0])
            guard key.utf8.count == 64, key.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                entries[key] == nil
            else { return .corrupt }
            var names = CertificateNames(ipAddresses: [], dnsNames: [])
            for field in fields.dropFirst() {
                if field.hasPrefix("ip:") {
                    names.ipAddresses.append(String(field.dropFirst(3)))
                } else if field.hasPrefix("dns:") {
                    names.dnsNames.append(String(field.dropFirst(4)))
                } else {
                    return .corrupt
                }
            }
            entries[key] = names
        }
        return .valid(entries)
    }
}
