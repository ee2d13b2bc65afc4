import Foundation
import SwockPKI
import SwockStore

/// Stored server certificates that cover another machine's address. All machines of a store
/// share one CA, so such a certificate (issued before swock-machine stopped putting host-reported
/// names in, or by hand) lets whoever holds its key pass for that other machine. `ls` and
/// `regenerate-certs` warn about each; the way out is a new certificate for the machine.
public enum CertificateOverlap {
    public struct Finding: Sendable, Equatable {
        /// The machine whose certificate covers too much.
        public var machine: String
        /// The address it should not cover, and the machines that have it.
        public var address: String
        public var others: [String]

        /// One line: both machines and the address (what to do is SwockCommands' to say).
        public var warning: String {
            "Warning: the server certificate of \(machine) also covers \(address), the address of \(others.joined(separator: ", ")): "
                + "its key could pass for \(others.count == 1 ? "that machine" : "those machines")"
        }
    }

    /// Pure: each machine's certificate (nil when it has none) against every other machine's
    /// address. Not reported: machines at the same address as the certificate's own (two records
    /// of one host), and names the operator asked for (`--tls-san`, `--hostname`, the loopback
    /// names a machine needs), which a new certificate would carry again.
    public static func findings(_ machines: [(config: MachineConfig, certificate: CertificateNames?)]) -> [Finding] {
        // Every machine's address by its normalized form ("ip:BYTES" or "dns:name").
        var byAddress: [String: [MachineConfig]] = [:]
        var dnsAddresses: [String: String] = [:]  // normalized key -> DNS name, for wildcards
        for (c, _) in machines {
            guard let k = key(c.address) else { continue }
            byAddress[k, default: []].append(c)
            if k.hasPrefix("dns:") { dnsAddresses[k] = String(k.dropFirst(4)) }
        }
        var out: [Finding] = []
        for (c, cert) in machines {
            guard let cert, let own = key(c.address) else { continue }
            let expected = ServerCertificates.subjectAltNames(c)
            var hit = Set<String>()
            for ip in cert.ipAddresses { if let k = key(ip), byAddress[k] != nil { hit.insert(k) } }
            for name in cert.dnsNames {
                let lower = name.lowercased()
                if lower.hasPrefix("*.") {
                    for (k, host) in dnsAddresses where wildcard(lower, matches: host) { hit.insert(k) }
                } else if let k = key(name), byAddress[k] != nil {
                    hit.insert(k)
                }
            }
            for k in hit where k != own {
                let address = byAddress[k]![0].address
                if covered(address, by: expected) { continue }
                let others = byAddress[k]!.map(\.name).filter { $0 != c.name }.sorted()
                if !others.isEmpty { out.append(Finding(machine: c.name, address: address, others: others)) }
            }
        }
        return out.sorted { ($0.machine, $0.address) < ($1.machine, $1.address) }
    }

    /// The findings for `configs`, with each machine's stored `server.pem` (machines without a
    /// readable one are only others). The certificates' names come through the store's cache
    /// (`Store.serverCertificateNames`): only certificates not seen before are parsed.
    public static func findings(in store: Store, configs: [MachineConfig]) -> [Finding] {
        let names = store.serverCertificateNames(configs.map(\.name))
        return findings(configs.map { ($0, names[$0.name]) })
    }

    /// "ip:" and the address's bytes, or "dns:" and the lowercased name; nil for anything else.
    static func key(_ name: String) -> String? {
        guard let c = try? SubjectAltName.classify(name) else { return nil }
        if let ip = c.ip { return "ip:" + ip.map { String($0) }.joined(separator: ".") }
        return c.dns.map { "dns:" + $0 }
    }

    static func wildcard(_ pattern: String, matches host: String) -> Bool {
        let suffix = pattern.dropFirst(1)  // ".example.com"
        guard host.hasSuffix(suffix) else { return false }
        let first = host.dropLast(suffix.count)
        return !first.isEmpty && !first.contains(".")
    }

    static func covered(_ address: String, by names: [String]) -> Bool {
        guard let k = key(address) else { return false }
        return names.contains { n in
            let lower = n.lowercased()
            if lower.hasPrefix("*."), k.hasPrefix("dns:") { return wildcard(lower, matches: String(k.dropFirst(4))) }
            return key(n) == k
        }
    }
}
