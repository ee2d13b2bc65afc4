import Foundation
import SwockPKI
import SwockRemote
import SwockStore
import Testing

@testable import SwockEngine

/// Which names a machine's server certificate covers (only what the operator gave), and the
/// warning about stored certificates that cover another machine's address.
@Suite struct ServerCertificatesTests {
    /// A record as provision leaves it, with `reported` as the host's own `hostname` output.
    func machine(_ name: String, address: String, reported: String?, operatorHostname: String? = nil, sans: [String] = []) -> MachineConfig
    {
        var c = sampleConfig(name, address: address)
        c.tls.extraSANs = sans
        c.tls.hostname = operatorHostname
        c.host?.hostname = reported
        return c
    }

    @Test func theHostsOwnNameNeverGoesIn() {
        // Another machine's IP, a wildcard, a plain name, garbage: none of them is the operator's.
        for reported in ["10.231.1.11", "*.example.com", "*", "db1.example", "db1", "::1", "x y", ""] {
            let sans = ServerCertificates.subjectAltNames(machine("web1", address: "10.231.1.10", reported: reported))
            #expect(sans == ["10.231.1.10"], "host reported \(reported)")
        }
    }

    @Test func operatorNamesGoInOnce() {
        let c = machine(
            "web1", address: "web1.example", reported: "evil", operatorHostname: "web1",
            sans: ["10.0.0.9", "WEB1.example", "api.example"])
        #expect(ServerCertificates.subjectAltNames(c) == ["web1.example", "web1", "10.0.0.9", "api.example"])
    }

    @Test func loopbackOnlyBehindJumpHosts() throws {
        // Reached directly: the daemon is verified at its address; no loopback name.
        let direct = machine("web1", address: "10.231.1.10", reported: nil)
        #expect(ServerCertificates.subjectAltNames(direct) == ["10.231.1.10"])
        // Behind a bastion the docker CLI reaches it at 127.0.0.1 and can verify only that
        // (its trust anchor is this certificate alone); never "localhost".
        var behind = direct
        behind.ssh.proxyJump = [JumpHost(user: "tester", host: "10.231.0.2")]
        #expect(ServerCertificates.subjectAltNames(behind) == ["10.231.1.10", "127.0.0.1"])
    }

    @Test func theDockerCLIOfATunnelledMachineTrustsItsCertificateAlone() throws {
        let dir = try TempDir("pinned")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        var c = machine("behind", address: "10.231.1.10", reported: nil)
        c.ssh.proxyJump = [JumpHost(user: "tester", host: "10.231.0.2")]
        try store.reserve(c)
        for (f, text) in [("server.pem", "SERVER"), ("ca.pem", "CA"), ("cert.pem", "CERT"), ("key.pem", "KEY")] {
            try store.writeMachineFile("behind", f, text)
        }
        let path = store.dockerCertPath(c)
        #expect(path == store.machineDir("behind") + "/pinned-tls")
        #expect(store.dockerEnvironment(c).first { $0.0 == "DOCKER_CERT_PATH" }?.1 == path)
        try store.refreshDockerCertPath(c)
        func read(_ f: String) -> String? { (try? String(contentsOfFile: path + "/" + f, encoding: .utf8)) }
        #expect([read("ca.pem"), read("cert.pem"), read("key.pem")] == ["SERVER", "CERT", "KEY"])
        // A new server certificate reaches it on the next use.
        try store.writeMachineFile("behind", "server.pem", "SERVER2")
        try store.refreshDockerCertPath(c)
        #expect(read("ca.pem") == "SERVER2")
        #expect(posixMode(path) == 0o700 && posixMode(path + "/key.pem") == 0o600)
        // Reached directly: the machine's own directory, with the store's CA.
        let direct = machine("direct", address: "10.231.1.11", reported: nil)
        #expect(store.dockerCertPath(direct) == store.machineDir("direct"))
    }

    @Test func aStoredCertificateIsKeptOnlyWithExactlyTheNames() throws {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        func summary(_ names: [String]) throws -> CertificateSummary {
            try CertificateSummary(pem: ca.issueServerCertificate(commonName: "m", subjectAltNames: names).certificatePEM)
        }
        let want = ["10.231.1.10", "Web1.Example", "127.0.0.1"]
        #expect(ServerCertificates.coversExactly(try summary(["127.0.0.1", "web1.example", "10.231.1.10"]), want))
        // One name more (a name the host once chose): not kept.
        #expect(!ServerCertificates.coversExactly(try summary(want + ["10.231.1.11"]), want))
        #expect(!ServerCertificates.coversExactly(try summary(want + ["*.example"]), want))
        // One missing: not kept.
        #expect(!ServerCertificates.coversExactly(try summary(["10.231.1.10", "web1.example"]), want))
    }

    // MARK: - The warning

    func findings(_ machines: [(MachineConfig, [String]?)]) throws -> [CertificateOverlap.Finding] {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        return try CertificateOverlap.findings(
            machines.map { c, names in
                (
                    c,
                    try names.map {
                        try CertificateNames(pem: ca.issueServerCertificate(commonName: c.name, subjectAltNames: $0).certificatePEM)
                    }
                )
            })
    }

    @Test func aCertificateCoveringAnotherMachinesAddressIsNamed() throws {
        let web = machine("web1", address: "10.231.1.10", reported: nil)
        let db = machine("db1", address: "10.231.1.11", reported: nil)
        let api = machine("api", address: "api.fleet.test", reported: nil)
        let found = try findings([
            (web, ["10.231.1.10", "localhost", "127.0.0.1", "10.231.1.11"]),
            (db, ["10.231.1.11", "*.fleet.test"]),
            (api, nil),
        ])
        #expect(
            found == [
                CertificateOverlap.Finding(machine: "db1", address: "api.fleet.test", others: ["api"]),
                CertificateOverlap.Finding(machine: "web1", address: "10.231.1.11", others: ["db1"]),
            ])
        #expect(
            found[1].warning
                == "Warning: the server certificate of web1 also covers 10.231.1.11, the address of db1: its key could pass for that machine"
        )
    }

    @Test func whatTheOperatorChoseIsNotWarnedAbout() throws {
        // Two records of one host, and a --tls-san the operator gave: a new certificate would
        // cover them again, so there is nothing to do.
        let a = machine("a", address: "10.231.1.10", reported: nil)
        let a2 = machine("a2", address: "10.231.1.10", reported: nil)
        let b = machine("b", address: "10.231.1.12", reported: nil, sans: ["10.231.1.13", "*.lb.test"])
        let c = machine("c", address: "10.231.1.13", reported: nil)
        let d = machine("d", address: "x.lb.test", reported: nil)
        #expect(
            try findings([
                (a, ["10.231.1.10"]), (a2, ["10.231.1.10"]), (b, ["10.231.1.12", "10.231.1.13", "*.lb.test"]),
                (c, ["10.231.1.13"]), (d, ["x.lb.test"]),
            ]) == [])
    }
}
