import FleetSupport
import Foundation
import SwockPKI
import Testing

@testable import SwockStore

final class RaceResults<T>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Int: Result<T, any Error>] = [:]
}

/// Real threads, each with its own `Store` value (so its own lock descriptor), racing on one store.
@Suite struct StoreConcurrencyTests {
    static func race<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
        let box = RaceResults<T>()
        let group = DispatchGroup()
        let gate = DispatchSemaphore(value: 0)
        for i in 0..<n {
            group.enter()
            Thread {
                gate.wait()
                let r = Result { try body(i) }
                box.lock.lock(); box.results[i] = r; box.lock.unlock()
                group.leave()
            }.start()
        }
        for _ in 0..<n { gate.signal() }
        group.wait()
        return (0..<n).map { box.results[$0]! }
    }

    @Test(arguments: 1...3)
    func eightEnsureCAsMakeOneCA(round: Int) throws {
        let dir = try TempDir("ca race \(round)")
        defer { dir.remove() }
        let root = dir.sub("store")
        let results = Self.race(8) { _ in try Store(root: root).ensureCA() }
        let materials = try results.map { try $0.get() }
        let caPEM = try String(contentsOfFile: root + "/certs/ca.pem", encoding: .utf8)
        let certPEM = try String(contentsOfFile: root + "/certs/cert.pem", encoding: .utf8)
        let keyPEM = try String(contentsOfFile: root + "/certs/key.pem", encoding: .utf8)
        #expect(Set(materials.map(\.caPEM)) == [caPEM], "one CA for everyone")
        #expect(Set(materials.map(\.clientCertPEM)) == [certPEM])
        #expect(Set(materials.map(\.clientKeyPEM)) == [keyPEM])
        for m in materials { #expect(m.ca.verify(certificatePEM: m.clientCertPEM)) }
        let onDisk = try CertificateAuthority(
            certificatePEM: caPEM, privateKeyPEM: String(contentsOfFile: root + "/certs/ca-key.pem", encoding: .utf8))
        #expect(onDisk.verify(certificatePEM: certPEM))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root + "/certs").sorted() == [
                "ca-key.pem", "ca.pem", "cert.pem", "key.pem",
            ])

        // The openssl CLI agrees, and the key belongs to the certificate.
        guard let openssl = findExecutable("openssl") else { print("SKIP openssl checks: openssl is not installed"); return }
        let v = try Subprocess.runBlocking([openssl, "verify", "-CAfile", root + "/certs/ca.pem", root + "/certs/cert.pem"])
        #expect(v.status == 0, "\(v.stdoutText) \(v.stderrText)")
        #expect(v.stdoutText.hasSuffix("cert.pem: OK\n"))
        let certKey = try Subprocess.runBlocking([openssl, "x509", "-noout", "-pubkey", "-in", root + "/certs/cert.pem"])
        let key = try Subprocess.runBlocking([openssl, "pkey", "-pubout", "-in", root + "/certs/key.pem"])
        #expect(certKey.status == 0 && key.status == 0)
        #expect(certKey.stdoutText == key.stdoutText && !key.stdoutText.isEmpty)

        // A later call reuses everything.
        let again = try Store(root: root).ensureCA()
        #expect(again.caPEM == caPEM && again.clientCertPEM == certPEM)
    }

    @Test func ensureCARefusesACAWithoutItsKey() throws {
        let dir = try TempDir("ca half")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try store.ensureCA()
        try FileManager.default.removeItem(atPath: store.certsDir + "/ca-key.pem")
        #expect(
            throws: StoreError.crypto(
                "the CA's key \(store.certsDir)/ca-key.pem is missing, so no certificate can be signed; restore it from a backup")
        ) {
            try store.ensureCA()
        }
    }

    @Test func aLostCACertificateIsRestoredFromAMachineCopy() throws {
        let dir = try TempDir("ca restore")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let first = try store.ensureCA()
        try store.reserve(sampleConfig("m1"))
        try store.writeMachineFile("m1", "ca.pem", first.caPEM)
        try FileManager.default.removeItem(atPath: store.certsDir + "/ca.pem")
        let again = try store.ensureCA()
        #expect(again.caPEM == first.caPEM)
        // Without any copy, nothing was signed with the lone key: a new CA is made.
        try FileManager.default.removeItem(atPath: store.certsDir + "/ca.pem")
        try FileManager.default.removeItem(atPath: store.machineDir("m1") + "/ca.pem")
        let fresh = try store.ensureCA()
        #expect(fresh.caPEM != first.caPEM)
        #expect(fresh.ca.verify(certificatePEM: fresh.clientCertPEM))
    }

    @Test func clientCertFromAnotherCAIsReissued() throws {
        let dir = try TempDir("ca reissue")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let first = try store.ensureCA()
        let stranger = try CertificateAuthority.generate(keyType: .ecdsaP256).issueClientCertificate(keyType: .ecdsaP256)
        try AtomicFile.write(stranger.certificatePEM, to: store.certsDir + "/cert.pem")
        let second = try store.ensureCA()
        #expect(second.caPEM == first.caPEM)
        #expect(second.clientCertPEM != stranger.certificatePEM)
        #expect(first.ca.verify(certificatePEM: second.clientCertPEM))
    }

    @Test func eightThreadsOfUpdatesLoseNothing() throws {
        let dir = try TempDir("update race")
        defer { dir.remove() }
        let root = dir.sub("store")
        try Store(root: root).reserve(sampleConfig("web1", labels: [:]))
        let perThread = 15
        let results = Self.race(8) { t in
            let store = Store(root: root)
            for j in 0..<perThread {
                try store.update("web1") { $0.labels["t\(t)-\(j)"] = "v" }
            }
        }
        for r in results { _ = try r.get() }
        let c = try Store(root: root).load("web1")
        #expect(c.labels.count == 8 * perThread)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/machines/web1") == ["config.json"])
    }

    @Test func eightReservesOfOneNameHaveOneWinner() throws {
        let dir = try TempDir("reserve race")
        defer { dir.remove() }
        let root = dir.sub("store")
        let results = Self.race(8) { i in try Store(root: root).reserve(sampleConfig("web1", address: "10.0.0.\(i)")) }
        let wins = results.enumerated().filter { if case .success = $0.element { return true } else { return false } }
        #expect(wins.count == 1)
        for r in results {
            if case .failure(let e) = r { #expect(e as? StoreError == .alreadyExists("web1")) }
        }
        #expect(try Store(root: root).load("web1").address == "10.0.0.\(wins.first?.offset ?? -1)")
    }

    @Test func eightRemovesOfOneNameHaveOneWinner() throws {
        let dir = try TempDir("remove race")
        defer { dir.remove() }
        let root = dir.sub("store")
        for round in 0..<5 {
            try Store(root: root).reserve(sampleConfig("web1"))
            let results = Self.race(8) { _ in try Store(root: root).remove("web1") }
            let wins = results.filter { if case .success = $0 { return true } else { return false } }
            #expect(wins.count == 1, "round \(round)")
            for r in results {
                if case .failure(let e) = r { #expect(e as? StoreError == .notFound("web1"), "round \(round): \(e)") }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/machines").isEmpty)
        }
    }
}
