import Foundation
import SwockPKI

/// The store's CA and the client certificate every machine shares.
extension Store {
    public struct ClientMaterial: Sendable {
        public var ca: CertificateAuthority
        public var caPEM: String
        public var clientCertPEM: String
        public var clientKeyPEM: String

        package init(ca: CertificateAuthority, caPEM: String, clientCertPEM: String, clientKeyPEM: String) {
            self.ca = ca
            self.caPEM = caPEM
            self.clientCertPEM = clientCertPEM
            self.clientKeyPEM = clientKeyPEM
        }
    }

    /// Loads the CA and client certificate, creating them on first use. Runs under the store
    /// lock, so concurrent creates all end up with the one CA.
    public func ensureCA(keyType: KeyType = .ecdsaP256) throws -> ClientMaterial {
        try ensureLayout()
        return try lock.withLock {
            let caPath = certsDir + "/ca.pem", caKeyPath = certsDir + "/ca-key.pem"
            let certPath = certsDir + "/cert.pem", keyPath = certsDir + "/key.pem"
            let fm = FileManager.default
            let ca: CertificateAuthority
            if let c = fm.contents(atPath: caPath), let k = fm.contents(atPath: caKeyPath) {
                do {
                    ca = try CertificateAuthority(
                        certificatePEM: String(decoding: c, as: UTF8.self),
                        privateKeyPEM: String(decoding: k, as: UTF8.self))
                } catch PKIError.keyDoesNotMatchCertificate {
                    // A renewal (keys first) cut between its renames: the new key, the old certificate.
                    ca = try recoverCA(keyPEM: String(decoding: k, as: UTF8.self), keyType: keyType)
                } catch {
                    throw StoreError.crypto("the CA in \(certsDir) cannot be loaded (\(error)); restore it from a backup")
                }
            } else if let k = fm.contents(atPath: caKeyPath) {
                ca = try recoverCA(keyPEM: String(decoding: k, as: UTF8.self), keyType: keyType)
            } else if fm.fileExists(atPath: caPath) {
                throw StoreError.crypto("the CA's key \(caKeyPath) is missing, so no certificate can be signed; restore it from a backup")
            } else {
                ca = try CertificateAuthority.generate(keyType: keyType)
                // The key first: a ca.pem without its key would be unusable.
                try AtomicFile.write([(caKeyPath, Data(ca.privateKeyPEM.utf8)), (caPath, Data(ca.certificatePEM.utf8))])
            }
            if let c = fm.contents(atPath: certPath), let k = fm.contents(atPath: keyPath),
                ca.verify(certificatePEM: String(decoding: c, as: UTF8.self)),
                PEMKeyPair(certificatePEM: String(decoding: c, as: UTF8.self), privateKeyPEM: String(decoding: k, as: UTF8.self))
                    .keyMatchesCertificate
            {
                return ClientMaterial(
                    ca: ca, caPEM: ca.certificatePEM, clientCertPEM: String(decoding: c, as: UTF8.self),
                    clientKeyPEM: String(decoding: k, as: UTF8.self))
            }
            let client = try ca.issueClientCertificate(keyType: keyType)
            try AtomicFile.write([(keyPath, Data(client.privateKeyPEM.utf8)), (certPath, Data(client.certificatePEM.utf8))])
            return ClientMaterial(
                ca: ca, caPEM: ca.certificatePEM, clientCertPEM: client.certificatePEM, clientKeyPEM: client.privateKeyPEM)
        }
    }

    /// The CA key without its certificate: a first write cut short (disk full, crash), a
    /// renewal cut between its renames, or a lost ca.pem. Every machine keeps a copy of the CA
    /// certificate: if one matches the key, it is restored; if none does, nothing any client
    /// trusts was signed with the key, and the CA starts anew. Runs under the store lock.
    private func recoverCA(keyPEM: String, keyType: KeyType) throws -> CertificateAuthority {
        let fm = FileManager.default
        if let restored = names().lazy.compactMap({ name -> CertificateAuthority? in
            guard let c = fm.contents(atPath: machineDir(name) + "/ca.pem") else { return nil }
            return try? CertificateAuthority(certificatePEM: String(decoding: c, as: UTF8.self), privateKeyPEM: keyPEM)
        }).first {
            try AtomicFile.write(restored.certificatePEM, to: certsDir + "/ca.pem", mode: 0o600)
            return restored
        }
        let ca = try CertificateAuthority.generate(keyType: keyType)
        try AtomicFile.write([
            (certsDir + "/ca-key.pem", Data(ca.privateKeyPEM.utf8)), (certsDir + "/ca.pem", Data(ca.certificatePEM.utf8)),
        ])
        return ca
    }

    /// The CA a machine's certificates are signed with, and its client certificate: the store's
    /// own for machines created here; for one imported from another store, the CA it came with
    /// (in `tls.caDir`), whose key must have come too (`export --with-ca-key`).
    public func clientMaterial(for config: MachineConfig) throws -> ClientMaterial {
        guard let dir = config.tls.caDir else { return try ensureCA() }
        let fm = FileManager.default
        guard let c = fm.contents(atPath: resolve(dir) + "/ca.pem") else {
            throw StoreError.missingFile(name: config.name, path: dir + "/ca.pem")
        }
        guard let k = fm.contents(atPath: resolve(dir) + "/ca-key.pem") else {
            throw StoreError.importedWithoutCAKey(config.name)
        }
        let ca: CertificateAuthority
        do {
            ca = try CertificateAuthority(
                certificatePEM: String(decoding: c, as: UTF8.self), privateKeyPEM: String(decoding: k, as: UTF8.self))
        } catch {
            throw StoreError.crypto("the CA in \(dir) cannot be loaded (\(error)); import the machine again")
        }
        return ClientMaterial(
            ca: ca, caPEM: ca.certificatePEM, clientCertPEM: try readMachineFile(config.name, "cert.pem"),
            clientKeyPEM: try readMachineFile(config.name, "key.pem"))
    }

    /// The key of the CA whose certificate is `caPEM`, when this store holds it: the store's
    /// own CA, or one that came with imported machines.
    public func caKeyPEM(matching caPEM: String) -> Data? {
        guard let id = try? Store.caID(caPEM: caPEM) else { return nil }
        let fm = FileManager.default
        if ownCAID() == id { return fm.contents(atPath: certsDir + "/ca-key.pem") }
        return fm.contents(atPath: root + "/cas/\(id)/ca-key.pem")
    }

    /// A short, stable name for a CA: the first 16 hex digits of the SHA-256 of its
    /// certificate's fingerprint. Imported CAs live in `cas/ID`.
    public static func caID(caPEM: String) throws -> String {
        String(Digests.sha256Hex(try CertificateSummary(pem: caPEM).sha256Fingerprint).prefix(16))
    }

    /// `caID` of the store's own CA, nil before the first create.
    public func ownCAID() -> String? {
        guard let own = FileManager.default.contents(atPath: certsDir + "/ca.pem") else { return nil }
        return try? Store.caID(caPEM: String(decoding: own, as: UTF8.self))
    }
}
