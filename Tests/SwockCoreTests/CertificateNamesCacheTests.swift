import Foundation
import SwockPKI
import SwockSupport
import Testing

@testable import SwockStore

/// The store's cache of what the machines' server certificates cover (`server-names`): used
/// while it describes the very `server.pem` bytes, ignored when a certificate changed however
/// the change looks on disk, and ignored and rewritten when the file itself is damaged.
@Suite struct CertificateNamesCacheTests {
    /// Two server certificates of one CA whose PEM texts have the same length.
    static func sameSizeCertificates() throws -> (String, String) {
        let ca = try CertificateAuthority.generate(keyType: .ecdsaP256)
        for _ in 0..<100 {
            let a = try ca.issueServerCertificate(commonName: "m", subjectAltNames: ["10.231.1.10"]).certificatePEM
            let b = try ca.issueServerCertificate(commonName: "m", subjectAltNames: ["10.231.1.11"]).certificatePEM
            if a.utf8.count == b.utf8.count { return (a, b) }
        }
        throw CocoaError(.fileReadUnknown)
    }

    func store(_ dir: TempDir, pem: String) throws -> Store {
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("m"), files: ["server.pem": Data(pem.utf8)])
        return store
    }

    func cacheText(_ store: Store) -> String? {
        (try? Data(contentsOf: URL(fileURLWithPath: store.certificateNamesPath))).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A valid cache file saying that the certificate `pem` covers `names`.
    func plant(_ store: Store, pem: String, names: CertificateNames) throws {
        let data = CertificateNamesCache.encode([Digests.sha256Hex(Data(pem.utf8)): names])
        try AtomicFile.write(data, to: store.certificateNamesPath)
    }

    static let fake = CertificateNames(ipAddresses: ["10.9.9.9"], dnsNames: ["planted.example"])

    @Test func aValidCacheIsUsed() throws {
        let dir = try TempDir("names")
        defer { dir.remove() }
        let (a, _) = try Self.sameSizeCertificates()
        let store = try store(dir, pem: a)
        // First listing: parsed, then kept (0600).
        #expect(store.serverCertificateNames(["m", "none"]) == ["m": CertificateNames(ipAddresses: ["10.231.1.10"], dnsNames: [])])
        #expect(posixMode(store.certificateNamesPath) == 0o600)
        #expect(
            CertificateNamesCache.parse(try Data(contentsOf: URL(fileURLWithPath: store.certificateNamesPath)))
                == .valid([
                    Digests.sha256Hex(Data(a.utf8)): CertificateNames(ipAddresses: ["10.231.1.10"], dnsNames: [])
                ]))
        // What the cache says for these bytes is what a listing gets: nothing was parsed.
        try plant(store, pem: a, names: Self.fake)
        let before = cacheText(store)
        #expect(store.serverCertificateNames(["m"]) == ["m": Self.fake])
        // Nothing changed, so nothing was written.
        #expect(cacheText(store) == before)
    }

    @Test func aChangedCertificateIsParsedAgain() throws {
        let dir = try TempDir("names")
        defer { dir.remove() }
        let (a, b) = try Self.sameSizeCertificates()
        let store = try store(dir, pem: a)
        let path = store.machineDir("m") + "/server.pem"
        try plant(store, pem: a, names: Self.fake)
        #expect(store.serverCertificateNames(["m"]) == ["m": Self.fake])

        // Overwritten in place with another certificate of the same size, its times put back:
        // same inode, size and mtime as the one the cache describes.
        var old = stat()
        #expect(stat(path, &old) == 0)
        let fd = open(path, O_WRONLY)
        #expect(fd >= 0)
        #expect(Array(b.utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == b.utf8.count)
        close(fd)
        var times = [old.st_atim, old.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        var now = stat()
        #expect(stat(path, &now) == 0)
        #expect(
            now.st_ino == old.st_ino && now.st_size == old.st_size && now.st_mtim.tv_sec == old.st_mtim.tv_sec
                && now.st_mtim.tv_nsec == old.st_mtim.tv_nsec)
        let covered = CertificateNames(ipAddresses: ["10.231.1.11"], dnsNames: [])
        #expect(store.serverCertificateNames(["m"]) == ["m": covered])
        // The cache now holds the new certificate only.
        #expect(CertificateNamesCache.parse(Data(cacheText(store)!.utf8)) == .valid([Digests.sha256Hex(Data(b.utf8)): covered]))

        // Replaced (a new file renamed over it): the same.
        try plant(store, pem: b, names: Self.fake)
        try store.writeMachineFile("m", "server.pem", a)
        #expect(store.serverCertificateNames(["m"]) == ["m": CertificateNames(ipAddresses: ["10.231.1.10"], dnsNames: [])])
        // Removed: no names.
        try FileManager.default.removeItem(atPath: path)
        #expect(store.serverCertificateNames(["m"]) == [:])
    }

    @Test func aDamagedCacheIsIgnoredAndRewritten() throws {
        let dir = try TempDir("names")
        defer { dir.remove() }
        let (a, _) = try Self.sameSizeCertificates()
        let store = try store(dir, pem: a)
        let real = CertificateNames(ipAddresses: ["10.231.1.10"], dnsNames: [])
        let key = Digests.sha256Hex(Data(a.utf8))
        let good = CertificateNamesCache.encode([key: Self.fake])
        let text = String(decoding: good, as: UTF8.self)
        let body = String(text.prefix(upTo: text.range(of: "sum ")!.lowerBound))
        func sealed(_ body: String) -> Data { Data((body + "sum " + Digests.sha256Hex(Data(body.utf8)) + "\n").utf8) }
        let damaged: [(String, Data)] = [
            ("empty", Data()),
            ("garbage", Data("not a cache\n".utf8)),
            ("truncated", good.prefix(good.count - 10)),
            ("one byte changed", Data(text.replacingOccurrences(of: "planted", with: "plantex").utf8)),
            ("no checksum", Data(body.utf8)),
            ("another format", sealed(body.replacingOccurrences(of: "names 1", with: "names 2"))),
            ("a bad key", sealed(body.replacingOccurrences(of: key, with: String(key.dropLast()) + "g"))),
            ("an unknown kind of name", sealed(body.replacingOccurrences(of: "dns:", with: "uri:"))),
            ("a key twice", sealed(body + key + "\tip:10.1.1.1\n")),
        ]
        for (what, data) in damaged {
            try data.write(to: URL(fileURLWithPath: store.certificateNamesPath))
            #expect(CertificateNamesCache.parse(data) == .corrupt, "\(what)")
            #expect(store.serverCertificateNames(["m"]) == ["m": real], "\(what)")
            #expect(CertificateNamesCache.parse(Data(cacheText(store)!.utf8)) == .valid([key: real]), "\(what): not rewritten")
            #expect(posixMode(store.certificateNamesPath) == 0o600)
        }
        // The undamaged file reads back as written.
        #expect(CertificateNamesCache.parse(good) == .valid([key: Self.fake]))
        #expect(CertificateNamesCache.parse(sealed(CertificateNamesCache.header)) == .valid([:]))
    }

    @Test func aHeldStoreLockLeavesTheCacheToTheNextRun() throws {
        let dir = try TempDir("names")
        defer { dir.remove() }
        let (a, _) = try Self.sameSizeCertificates()
        let store = try store(dir, pem: a)
        let names = try store.lock.withLock { store.serverCertificateNames(["m"]) }
        #expect(names == ["m": CertificateNames(ipAddresses: ["10.231.1.10"], dnsNames: [])])
        #expect(cacheText(store) == nil)
        _ = store.serverCertificateNames(["m"])
        #expect(cacheText(store) != nil)
    }

    @Test func namesWithControlCharactersAreNeverKept() {
        #expect(CertificateNamesCache.canKeep(CertificateNames(ipAddresses: ["10.0.0.1"], dnsNames: ["a.example", "*.b"])))
        #expect(!CertificateNamesCache.canKeep(CertificateNames(ipAddresses: [], dnsNames: ["a\tb"])))
        #expect(!CertificateNamesCache.canKeep(CertificateNames(ipAddresses: [], dnsNames: ["a\nb"])))
    }
}
