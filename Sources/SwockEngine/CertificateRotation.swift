import EngineAPI
import Foundation
import Logging
import SSHKit
import SwockPKI
import SwockRemote
import SwockStore

/// `regenerate-certs`: a new server certificate (and, with `clientCerts`, a new CA and client
/// certificate) installed on the host, and the daemon restarted — without re-running the rest of
/// provisioning. Running containers survive (live-restore is on since create).
public struct CertificateRotation: Sendable {
    public let store: Store
    public var logger: Logger
    /// The connection keeper to go through when it serves (nil: connect directly).
    public var keeper: KeeperClient?

    public init(store: Store, logger: Logger = Logger(label: "swock.certs")) {
        self.store = store
        self.logger = logger
    }

    public func regenerate(_ name: String, clientCerts: Bool) async throws -> String {
        var config = try store.load(name)
        // --client-certs renews the store's CA; a machine that came with its own CA from
        // another store then moves to this store's.
        let material = clientCerts ? try store.renewCA() : try store.clientMaterial(for: config)
        let ssh = try await MachineSSH(store: store, logger: logger).commandHost(config, keeper: keeper)
        do {
            let probe = HostProbe.parse(try await ssh.exec(HostProbe.command, timeout: .seconds(60)).stdoutText)
            try await EngineLifecycle.requireConfiguration(config, initSystem: InitSystem(probed: probe.initSystem), ssh: ssh)
            var tls = try await ServerCertificates(store: store).install(
                for: config, material: material, ssh: ssh, reuse: false)
            if clientCerts { tls.caDir = nil }
            config = try store.update(name) { $0.tls = tls }
            // The saved TLS session belongs to the old certificates: the next connection verifies the new ones.
            TLSSessions.wipe(store.tlsSessionPath(name))
            try await ssh.runAsRoot(InitSystem(probed: probe.initSystem).command(.restart, DaemonLaunch(config)), timeout: .seconds(180))
            let v = try await EngineReadiness(store: store).waitForTLS(config, ssh: ssh)
            await ssh.close()
            return
                "new server certificate for \(tls.serverSANs.joined(separator: ", "))\(clientCerts ? ", new CA and client certificate" : ""); Docker \(v.version) answers"
        } catch {
            await ssh.close()
            throw error
        }
    }
}

extension Store {
    /// Replaces the store's CA and client certificate (under the lock). Machines keep their own
    /// copies of the old ones in their directories until they are regenerated too.
    public func renewCA(keyType: KeyType = .ecdsaP256) throws -> ClientMaterial {
        try ensureLayout()
        return try lock.withLock {
            let ca = try CertificateAuthority.generate(keyType: keyType)
            let client = try ca.issueClientCertificate(keyType: keyType)
            // One group, keys before their certificates: ensureCA recovers a CA key whose
            // certificate did not follow (the process killed between two renames).
            try AtomicFile.write([
                (certsDir + "/ca-key.pem", Data(ca.privateKeyPEM.utf8)), (certsDir + "/ca.pem", Data(ca.certificatePEM.utf8)),
                (certsDir + "/key.pem", Data(client.privateKeyPEM.utf8)), (certsDir + "/cert.pem", Data(client.certificatePEM.utf8)),
            ])
            return ClientMaterial(
                ca: ca, caPEM: ca.certificatePEM, clientCertPEM: client.certificatePEM, clientKeyPEM: client.privateKeyPEM)
        }
    }
}
