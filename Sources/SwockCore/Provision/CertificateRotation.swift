import EngineAPI
import Foundation
import Logging
import SSHKit
import SwockPKI

/// `regenerate-certs`: a new server certificate (and, with `clientCerts`, a new CA and client
/// certificate) installed on the host, and the daemon restarted — without re-running the rest of
/// provisioning. Running containers survive (live-restore is on since create).
public struct CertificateRotation: Sendable {
    public let store: Store
    public var logger: Logger

    public init(store: Store, logger: Logger = Logger(label: "swock.certs")) {
        self.store = store
        self.logger = logger
    }

    public func regenerate(_ name: String, clientCerts: Bool) async throws -> String {
        var config = try store.load(name)
        let keyType = (try? KeyType(cliName: config.tls.keyType)) ?? KeyType(rawValue: config.tls.keyType) ?? .ecdsaP256
        let material = clientCerts ? try store.renewCA() : try store.ensureCA()
        let ssh = try await MachineSSH(store: store, logger: logger).connect(config)
        do {
            let probe = HostProbe.parse(try await ssh.exec(HostProbe.script, timeout: .seconds(60)).stdoutText)
            var sans = [config.address]
            if let h = probe.hostname ?? config.host?.hostname, !h.isEmpty { sans.append(h) }
            sans += ["localhost", "127.0.0.1"] + config.tls.extraSANs
            var seen = Set<String>()
            sans = sans.filter { seen.insert($0.lowercased()).inserted }
            let server = try material.ca.issueServerCertificate(commonName: config.name, subjectAltNames: sans, keyType: keyType)

            let dir = EngineConfigRenderer.remoteDir
            try await ssh.installAsRoot(Data(material.caPEM.utf8), at: "\(dir)/ca.pem", mode: 0o644)
            try await ssh.installAsRoot(Data(server.certificatePEM.utf8), at: "\(dir)/server.pem", mode: 0o644)
            try await ssh.installAsRoot(Data(server.privateKeyPEM.utf8), at: "\(dir)/server-key.pem", mode: 0o600)
            let restart = EngineLifecycle.command(.restart, initSystem: probe.initSystem, config: config)
            try await ssh.runAsRoot(restart, timeout: .seconds(180))
            await ssh.close()

            // The daemon now uses the new material: so do we.
            try store.writeMachineFile(name, "server-key.pem", server.privateKeyPEM)
            try store.writeMachineFile(name, "server.pem", server.certificatePEM)
            try store.writeMachineFile(name, "ca.pem", material.caPEM)
            try store.writeMachineFile(name, "key.pem", material.clientKeyPEM)
            try store.writeMachineFile(name, "cert.pem", material.clientCertPEM)
            let summary = try CertificateSummary(pem: server.certificatePEM)
            config = try store.update(name) {
                $0.tls.serverSANs = sans
                $0.tls.serverNotBefore = summary.notBefore
                $0.tls.serverNotAfter = summary.notAfter
                $0.tls.caFingerprint = try? CertificateSummary(pem: material.caPEM).sha256Fingerprint
            }
            let v = try await EngineLifecycle(store: store, logger: logger).waitForEngine(config)
            return "new server certificate for \(sans.joined(separator: ", "))\(clientCerts ? ", new CA and client certificate" : ""); Docker \(v.version) answers"
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
            try AtomicFile.write(ca.privateKeyPEM, to: certsDir + "/ca-key.pem", mode: 0o600)
            try AtomicFile.write(ca.certificatePEM, to: certsDir + "/ca.pem", mode: 0o600)
            try AtomicFile.write(client.privateKeyPEM, to: certsDir + "/key.pem", mode: 0o600)
            try AtomicFile.write(client.certificatePEM, to: certsDir + "/cert.pem", mode: 0o600)
            return ClientMaterial(ca: ca, caPEM: ca.certificatePEM, clientCertPEM: client.certificatePEM, clientKeyPEM: client.privateKeyPEM)
        }
    }
}
