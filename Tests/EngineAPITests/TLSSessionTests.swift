import Foundation
import SwockSupport
import Testing

@testable import EngineAPI

/// Saved TLS sessions: the file (owner only, bounded lifetime, wipe) and resumption against
/// `openssl s_server`, including a session that must not be offered (another machine's name,
/// other client files). On real daemons: IntegrationTests/TLSResumptionTests.
@Suite(.serialized) struct TLSSessionTests {
    let pki = TestPKI.shared

    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "tls-session-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    // MARK: the file

    @Test func savedOwnerOnlyAndReadBack() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        umask(0o022)
        let f = TLSSessionFile(path: dir + "/tls-session")
        #expect(f.load() == nil)  // nothing saved
        #expect(f.save([1, 2, 3, 10, 0], lifetime: 600))
        #expect(mode(f.path) == 0o600)
        #expect(f.load() == [1, 2, 3, 10, 0])
        // no temporary file left beside it
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["tls-session"])
    }

    @Test func lifetimeIsBounded() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = TLSSessionFile(path: dir + "/tls-session", maxLifetime: 3600)
        let now = 1_700_000_000
        // the daemon's hint, when shorter
        f.save([7], lifetime: 60, now: now)
        #expect(f.load(now: now + 59) == [7])
        #expect(f.load(now: now + 60) == nil)
        // a week's hint (Go's) is cut to maxLifetime; no hint: maxLifetime
        for hint in [7 * 86400, 0] {
            f.save([8], lifetime: hint, now: now)
            #expect(f.load(now: now + 3599) == [8])
            #expect(f.load(now: now + 3600) == nil)
        }
        // an expiry further ahead than maxLifetime (a clock set back, a file from elsewhere): unused
        f.save([9], lifetime: 3600, now: now)
        #expect(f.load(now: now - 1) == nil)
        #expect(TLSSessionFile(path: f.path, maxLifetime: 7200).load(now: now - 1) == [9])
    }

    @Test func aFileOthersCouldTouchOrALinkIsNotUsed() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = TLSSessionFile(path: dir + "/tls-session")
        f.save([1, 2], lifetime: 600)
        for m: mode_t in [0o640, 0o604, 0o620, 0o660] {
            chmod(f.path, m)
            #expect(f.load() == nil, "mode \(String(m, radix: 8))")
        }
        chmod(f.path, 0o400)
        #expect(f.load() == [1, 2])
        // a symbolic link to a good file
        let link = TLSSessionFile(path: dir + "/link")
        symlink(f.path, link.path)
        #expect(link.load() == nil)
        // not our format, or empty
        for bad in ["", "swock-tls-session 1\n", "swock-tls-session 2\n99999999999\nx", "swock-tls-session 1\nsoon\nx"] {
            let p = dir + "/bad"
            unlink(p)
            _ = FileManager.default.createFile(atPath: p, contents: Data(bad.utf8), attributes: [.posixPermissions: 0o600])
            #expect(TLSSessionFile(path: p).load() == nil, "\(bad)")
        }
    }

    @Test func wipeRemovesItFromDiskAndFromTheProcess() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tls-session"
        try await server("server") { s in
            let e = endpoint(port: s.port, sessionFile: path)
            _ = try await EngineClient(endpoint: e, timeout: .seconds(5)).ping()
            #expect(TLSSessionFile(path: path).load() != nil)
            #expect(TLSSessionCache.shared.session(for: TLSSessionFile(path: path)) != nil)
            TLSSessions.wipe(path)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(TLSSessionCache.shared.session(for: TLSSessionFile(path: path)) == nil)
            TLSSessions.wipe(path)  // nothing saved: fine
        }
    }

    // MARK: resumption (openssl s_server: TLS 1.3 tickets, client certificate required)

    func endpoint(
        _ host: String = "127.0.0.1", port: Int, verifyName: String? = nil, ca: String? = nil,
        sessionFile: String? = nil
    ) -> EngineEndpoint {
        let f = pki.clientFiles()
        return EngineEndpoint(
            host: host, port: port, tls: TLSFiles(caPath: ca ?? f.ca, certPath: f.cert, keyPath: f.key),
            verifyName: verifyName, sessionFile: sessionFile)
    }

    func server<T>(_ name: String, _ body: (OpenSSLServer) async throws -> T) async throws -> T {
        try await OpenSSLServer.with(
            cert: pki.path("\(name).pem"), key: pki.path("\(name)-key.pem"),
            ca: pki.path("ca.pem"), mode: .www, body)
    }

    /// One request over a connection that offers `session`; whether it resumed, and the session
    /// the server gave on it (read after the response started, as HTTPExchange does).
    func exchange(_ e: EngineEndpoint, session: [UInt8]?) async throws -> (resumed: Bool, session: [UInt8]?) {
        try await OffPool.run("exchange") { try Self.exchangeSync(e, session: session) }
    }

    static func exchangeSync(_ e: EngineEndpoint, session: [UInt8]?) throws -> (resumed: Bool, session: [UInt8]?) {
        let conn = try TLSConnection.connect(
            host: e.host, port: e.port, verifyName: e.verifyName, files: e.tls,
            session: session, timeoutMS: 5000)
        try conn.write(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = try conn.read(into: &buffer)
        return (conn.resumed, conn.exportSession()?.blob)
    }

    @Test func aSavedSessionResumes() async throws {
        try await server("server") { s in
            let e = endpoint(port: s.port)
            let first = try await exchange(e, session: nil)
            #expect(!first.resumed)
            let saved = try #require(first.session)
            let second = try await exchange(e, session: saved)
            #expect(second.resumed)
        }
    }

    @Test func theFileCarriesTheSessionToTheNextProcess() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tls-session"
        try await server("server") { s in
            let e = endpoint(port: s.port, sessionFile: path)
            _ = try await EngineClient(endpoint: e, timeout: .seconds(5)).ping()
            #expect(mode(path) == 0o600)
            // what the next process finds on disk
            let saved = try #require(TLSSessionFile(path: path).load())
            let next = try await exchange(e, session: saved)
            #expect(next.resumed)
        }
    }

    /// A session of the daemon that is machine A (its certificate covers 10.231.9.9), offered by
    /// a connection that must verify machine B (127.0.0.1) at the same daemon — what happens when
    /// B's address leads to A's daemon. Resumed, no certificate would be checked and A would pass
    /// for B; the session is not offered, and the full handshake refuses A's certificate.
    @Test func anotherMachinesSessionDoesNotPass() async throws {
        try await server("wrongsan") { s in
            let a = endpoint(port: s.port, verifyName: "10.231.9.9")
            let firstA = try await exchange(a, session: nil)
            let fromA = try #require(firstA.session)
            let againA = try await exchange(a, session: fromA)
            #expect(againA.resumed)  // A itself resumes
            let b = endpoint(port: s.port, verifyName: "127.0.0.1")
            do {
                let r = try await exchange(b, session: fromA)
                Issue.record("A's session passed for B (resumed: \(r.resumed))")
            } catch let f as TLSFailure {
                #expect(f.kind == .nameMismatch, "\(f)")
            }
        }
    }

    /// A session made with other client files (a renewed CA: `regenerate-certs --client-certs`)
    /// is not offered: the connection is a full handshake that verifies with the files of now.
    @Test func aSessionOfOtherClientFilesIsNotOffered() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // the same CA certificate plus another one: other contents, and the daemon still verifies
        let bundle = dir + "/ca-bundle.pem"
        let both =
            try String(contentsOfFile: pki.path("ca.pem"), encoding: .utf8)
            + (try String(contentsOfFile: pki.path("otherca.pem"), encoding: .utf8))
        try both.write(toFile: bundle, atomically: true, encoding: .utf8)
        try await server("server") { s in
            let old = endpoint(port: s.port)
            let first = try await exchange(old, session: nil)
            let saved = try #require(first.session)
            let renewed = endpoint(port: s.port, ca: bundle)
            let r = try await exchange(renewed, session: saved)
            #expect(!r.resumed)
            let again = try await exchange(old, session: saved)
            #expect(again.resumed)  // the session itself was good
        }
    }
}
