import Foundation
import SwockPKI
import SwockStore
import SwockSupport
import Testing

@testable import SwockInventory

/// `import` of crafted archives (built here with the project's own archive code), through the
/// binary: what the archive could make this store's CAs sign later is refused unless asked for,
/// and a passphrase takes only a sealed archive. No hosts needed.
@Suite struct ImportTrustTests {
    /// A record and its files as an export holds them, signed by `ca`, at `address`.
    static func machine(_ name: String, ca: CertificateAuthority, address: String, extraSANs: [String] = []) throws
        -> MachineArchive.Machine
    {
        let client = try ca.issueClientCertificate(keyType: .ecdsaP256)
        let server = try ca.issueServerCertificate(commonName: name, subjectAltNames: [address] + extraSANs, keyType: .ecdsaP256)
        var config = MachineConfig(
            name: name, address: address,
            ssh: SSHSettings(
                user: "root", port: 22, authMode: .generatedKey, keyPath: Store.generatedKeyPath(name),
                knownHostsPath: Store.knownHostsPath(name)),
            engine: EngineSettings(), tls: TLSSettings(keyType: "ecdsa", extraSANs: extraSANs))
        config.provisioning.phase = .ready
        return MachineArchive.Machine(
            config: config,
            files: [
                "ca.pem": Data(ca.certificatePEM.utf8), "cert.pem": Data(client.certificatePEM.utf8),
                "key.pem": Data(client.privateKeyPEM.utf8),
                "server.pem": Data(server.certificatePEM.utf8), "server-key.pem": Data(server.privateKeyPEM.utf8),
                "known_hosts": Data("\(address) ssh-ed25519 AAAA\n".utf8), "id_ed25519": Data("-----BEGIN OPENSSH PRIVATE KEY-----\n".utf8),
            ])
    }

    static func write(_ data: Data, _ tag: String) throws -> String {
        let p = NSTemporaryDirectory() + "swock-trust-\(tag)-\(UUID().uuidString.prefix(8)).swock"
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    @Test func aPassphraseTakesOnlyASealedArchive() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        _ = try Store(root: cli.store).ensureCA()
        let foreign = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let plain = try Self.write(
            try MachineArchive(machines: [try Self.machine("m1", ca: foreign, address: "10.231.1.99")], caKeys: [:]).tar(), "plain")
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let before = cli.snapshot()
        let r = try await cli.run(["import", "--passphrase-env", "SWOCK_TEST_PASS", plain], env: ["SWOCK_TEST_PASS": "pw"])
        Faults.expectOneError(r, ["\(plain) is not sealed with a passphrase", "nothing was imported"])
        #expect(cli.snapshot() == before, "a refused import changed the store")
        // The same archive without a passphrase is an ordinary plain import.
        let ok = try await cli.run(["import", plain])
        #expect(ok.status == 0, "\(ok.all)")
    }

    @Test func extraSANsAndTheStoresOwnCAAreShownAndNeedTheirFlags() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        let own = try Store(root: cli.store).ensureCA().ca
        let foreign = try CertificateAuthority.generate(keyType: .ecdsaP256)
        let sans = try Self.write(
            try MachineArchive(
                machines: [
                    try Self.machine("m1", ca: foreign, address: "10.231.1.98", extraSANs: ["victim.example", "10.231.1.99"])
                ], caKeys: [:]
            ).tar(), "sans")
        let claim = try Self.write(
            try MachineArchive(machines: [try Self.machine("m2", ca: own, address: "10.231.1.99")], caKeys: [:]).tar(), "claim")
        defer { for p in [sans, claim] { try? FileManager.default.removeItem(atPath: p) } }
        let before = cli.snapshot()

        let r1 = try await cli.run(["import", sans])
        Faults.expectOneError(r1, ["\"m1\"", "\"victim.example\", \"10.231.1.99\"", "--accept-extra-sans"])
        let r2 = try await cli.run(["import", "--accept-extra-sans", claim])
        Faults.expectOneError(r2, ["\"m2\"", "this store's own CA", "\"10.231.1.99\"", "--accept-store-ca"])
        #expect(cli.snapshot() == before, "a refused import changed the store")

        let ok1 = try await cli.run(["import", "--accept-extra-sans", sans])
        #expect(ok1.status == 0, "\(ok1.all)")
        #expect(ok1.stderrText.contains("Note: m1 carries extra server-certificate names: victim.example, 10.231.1.99"), "\(ok1.all)")
        let ok2 = try await cli.run(["import", "--accept-store-ca", claim])
        #expect(ok2.status == 0, "\(ok2.all)")
        #expect(ok2.stderrText.contains("Note: m2 (10.231.1.99) uses this store's own CA"), "\(ok2.all)")
        let tls = try #require(try cli.config("m1")["tls"] as? [String: Any])
        #expect(tls["extraSANs"] as? [String] == ["victim.example", "10.231.1.99"])
        #expect(try #require(try cli.config("m2")["tls"] as? [String: Any])["caDir"] == nil)
    }
}
