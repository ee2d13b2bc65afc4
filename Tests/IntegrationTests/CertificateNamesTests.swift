import FleetSupport
import Foundation
import Testing

/// Which names a machine's server certificate covers, on real hosts. All machines of a store share
/// one CA, so a name a host could choose for itself would let it pass for another machine: only
/// names the operator gave go in, and stored certificates that cover another machine's address
/// are pointed out.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct CertificateNamesTests {
    /// The SAN line of a PEM certificate, as openssl prints it ("IP Address:10.231.1.10, DNS:...").
    static func sans(_ path: String) async throws -> String {
        let r = try await Subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", path])
        #expect(r.status == 0, "\(r.all)")
        return r.stdoutText.split(separator: "\n").dropFirst().joined().trimmingCharacters(in: .whitespaces)
    }

    /// Makes `hostname` on the host print `name`: root on it puts a script ahead of the real one
    /// on every login's PATH (/usr/local/bin comes first), as a compromised host could.
    static func lie(_ host: FleetHost, hostname name: String) async throws {
        let r = try await Fleet.run(
            host.name,
            "printf '#!/bin/sh\\necho \"%s\"\\n' \(shellQuoted(name)) > /usr/local/bin/hostname && chmod 755 /usr/local/bin/hostname")
        #expect(r.status == 0, "\(r.all)")
        // What a login of the machine's user now sees (the probe runs `hostname` the same way).
        let seen = try await Subprocess.run([
            "ssh", "-i", host.keyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "\(host.user)@\(host.ip)", "hostname",
        ])
        #expect(seen.stdoutText == name + "\n", "\(seen.all)")
    }

    /// Machines a and b on fresh hosts ce-aN and ce-bN (engine preinstalled).
    static func machinesAAndB(_ n: String) async throws -> (CLI, FleetHost, FleetHost) {
        let hosts = try await Fleet.fresh(["ce-a\(n)", "ce-b\(n)"], variant: "docker")
        let cli = CLI()
        for (name, host) in [("a", hosts[0]), ("b", hosts[1])] {
            let r = try await cli.create(name, on: host)
            #expect(r.status == 0, "\(r.all)")
        }
        return (cli, hosts[0], hosts[1])
    }

    static func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @Test func aHostCannotPutAnotherMachinesAddressOrAWildcardInItsCertificate() async throws {
        let (cli, a, b) = try await Self.machinesAAndB("1")
        defer { cli.cleanup() }
        let pem = "\(cli.store)/machines/a/server.pem"

        // provision: the host says it is b's IP (the record shows what it said; the certificate does not).
        try await Self.lie(a, hostname: b.ip)
        let prov = try await cli.run(["provision", "a"])
        #expect(prov.status == 0, "\(prov.all)")
        let facts = try cli.config("a")["host"] as? [String: Any]
        #expect(facts?["hostname"] as? String == b.ip, "the probe did not see the lie: \(String(describing: facts))")
        var names = try await Self.sans(pem)
        #expect(!names.contains(b.ip), "a's certificate covers b's address: \(names)")
        // Reached directly: its address and nothing else (no loopback name either).
        #expect(names == "IP Address:\(a.ip)", "\(names)")

        // regenerate-certs: the host says it is every name under a domain.
        try await Self.lie(a, hostname: "*.fleet.test")
        let regen = try await cli.run(["regenerate-certs", "-f", "a"])
        #expect(regen.status == 0, "\(regen.all)")
        names = try await Self.sans(pem)
        #expect(!names.contains("*") && !names.contains(b.ip), "a's certificate covers a name a chose: \(names)")
        let tls = try cli.config("a")["tls"] as? [String: Any]
        #expect((tls?["serverSANs"] as? [String])?.contains { $0.contains("*") || $0 == b.ip } == false, "\(String(describing: tls))")
        // The daemon serves that certificate, and the docker CLI still reaches a at its address.
        let v = try await cli.docker(["version", "--format", "{{.Server.Os}}"], machine: "a", host: a)
        #expect(v.stdoutText == "linux\n", "\(v.all)")
    }

    @Test func lsAndRegenerateCertsNameAStoredCertificateThatCoversAnotherMachine() async throws {
        let (cli, a, b) = try await Self.machinesAAndB("2")
        defer { cli.cleanup() }
        // A certificate for a that also covers b's address, signed by the store's CA (what an
        // older swock-machine issued when a's `hostname` said it was b's IP).
        let dir = "\(cli.store)/machines/a"
        let work = NSTemporaryDirectory() + "ce-overlap-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try "subjectAltName=IP:\(a.ip),IP:\(b.ip)\nextendedKeyUsage=serverAuth\n".write(
            toFile: work + "/ext", atomically: true, encoding: .utf8)
        let issue = try await Subprocess.run([
            "sh", "-c",
            """
            set -e
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=a -keyout "$1/key" -out "$1/csr" 2>/dev/null
            openssl x509 -req -in "$1/csr" -CA "$2/certs/ca.pem" -CAkey "$2/certs/ca-key.pem" -set_serial "0x$(openssl rand -hex 12)" -days 30 \
              -extfile "$1/ext" -out "$1/cert" 2>/dev/null
            cp "$1/cert" "$3/server.pem"; cp "$1/key" "$3/server-key.pem"
            """, "sh", work, cli.store, dir,
        ])
        #expect(issue.status == 0, "\(issue.all)")
        let line =
            "Warning: the server certificate of a also covers \(b.ip), the address of b: its key could pass for that machine; run `swock-machine regenerate-certs a`"

        let ls = try await cli.run(["ls"])
        #expect(ls.status == 0, "\(ls.all)")
        #expect(ls.stderrText.split(separator: "\n").filter { $0.hasPrefix("Warning:") } == [Substring(line)], "\(ls.stderrText)")
        let quiet = try await cli.run(["ls", "-q"])
        #expect(quiet.stdoutText == "a\nb\n", "\(quiet.all)")
        #expect(
            quiet.stderrText.split(separator: "\n").filter { $0.hasPrefix("Warning:") } == [Substring(line)],
            "\(quiet.stderrText.debugDescription)")

        // regenerate-certs of another machine still names a; regenerating a ends it.
        let other = try await cli.run(["regenerate-certs", "-f", "b"])
        #expect(other.status == 0 && other.stderrText.contains(line), "\(other.all)")
        let fixed = try await cli.run(["regenerate-certs", "-f", "a"])
        #expect(fixed.status == 0 && !fixed.stderrText.contains("Warning:"), "\(fixed.all)")
        let after = try await cli.run(["ls", "-q"])
        #expect(!after.stderrText.contains("Warning:"), "\(after.all)")
        #expect(!(try await Self.sans(dir + "/server.pem")).contains(b.ip))
    }
}
