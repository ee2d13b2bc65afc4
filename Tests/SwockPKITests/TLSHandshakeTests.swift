import Foundation
import SwockPKI
import Testing

/// Mutual TLS between `openssl s_server` and `openssl s_client` with the issued certificates, on 127.0.0.1 only.
@Suite("mutual TLS handshake with openssl s_server / s_client")
struct TLSHandshakeTests {
    @Test("client and server certificates complete a verified mutual-TLS handshake", arguments: KeyType.allCases, KeyType.allCases)
    func handshake(caKey: KeyType, leafKey: KeyType) throws {
        let set = try IssuedSet(caKey: caKey, leafKey: leafKey)
        defer { set.dir.remove() }
        let other = try CertificateAuthority.generate(keyType: leafKey).issueClientCertificate(keyType: leafKey)
        try set.dir.write("foreign.pem", other.certificatePEM)
        try set.dir.write("foreign-key.pem", other.privateKeyPEM)

        let (server, port) = try startServer(set)
        defer { server.stop() }

        let ok = try client(set, port: port, cert: "cert.pem", key: "key.pem")
        #expect(!ok.timedOut)
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.stdout.contains("Verify return code: 0 (ok)"), "\(ok.output)")
        #expect(ok.stdout.contains("HTTP/1.0 200 ok"), "\(ok.output)")

        // A client certificate from another CA is refused by the server (-Verify 1).
        let refused = try client(set, port: port, cert: "foreign.pem", key: "foreign-key.pem")
        #expect(!refused.timedOut)
        #expect(!refused.stdout.contains("HTTP/1.0 200 ok"), "\(refused.output)")
    }

    private func client(_ set: IssuedSet, port: UInt16, cert: String, key: String) throws -> ProcessResult {
        try set.openssl(
            "s_client", "-connect", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-CAfile", "ca.pem",
            "-verify_return_error", "-verify_ip", "127.0.0.1", "-ign_eof",
            stdin: "GET / HTTP/1.0\r\n\r\n", timeout: 15)
    }

    /// Starts s_server on a free port and waits (≤ 10 s) until it accepts; retries a few ports if one is taken.
    private func startServer(_ set: IssuedSet) throws -> (RunningProcess, UInt16) {
        for _ in 0..<5 {
            guard let port = freeLocalPort() else { continue }
            let server = try Tool.start(
                Tool.openssl + [
                    "s_server", "-cert", "server.pem", "-key", "server-key.pem", "-CAfile", "ca.pem",
                    "-Verify", "1", "-verify_return_error", "-accept", "127.0.0.1:\(port)", "-www",
                ],
                in: set.dir.url)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && server.process.isRunning && !server.currentStdout.contains("ACCEPT") {
                usleep(20_000)
            }
            if server.process.isRunning && server.currentStdout.contains("ACCEPT") { return (server, port) }
            server.stop()
        }
        throw ServerDidNotStart()
    }

    struct ServerDidNotStart: Error {}
}
