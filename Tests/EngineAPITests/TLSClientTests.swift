import Foundation
import SwockSupport
import Testing

@testable import EngineAPI

/// The client against `openssl s_server` with openssl-made certificates: handshakes, responses,
/// and every classified failure with its message. Loopback only; servers always killed.
@Suite(.serialized) struct TLSClientTests {
    let pki = TestPKI.shared

    func endpoint(_ host: String = "127.0.0.1", port: Int, client: String = "client", key: String? = nil) -> EngineEndpoint {
        let f = pki.clientFiles(cert: client)
        return EngineEndpoint(host: host, port: port, tls: TLSFiles(caPath: f.ca, certPath: f.cert, keyPath: key ?? f.key))
    }

    func client(_ e: EngineEndpoint, timeout: Duration = .seconds(5), apiVersion: String? = nil) -> EngineClient {
        EngineClient(endpoint: e, timeout: timeout, apiVersionOverride: apiVersion)
    }

    func server<T>(
        _ name: String, mode: OpenSSLServer.Mode = .www, extra: [String] = [],
        _ body: (OpenSSLServer) async throws -> T
    ) async throws -> T {
        try await OpenSSLServer.with(
            cert: pki.path("\(name).pem"), key: pki.path("\(name)-key.pem"),
            ca: pki.path("ca.pem"), mode: mode, extra: extra, body)
    }

    /// The EngineError thrown by body (records an issue if none or another error).
    func failure(_ body: () async throws -> Void) async -> EngineError? {
        do {
            try await body()
            Issue.record("no error thrown")
        } catch let error as EngineError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
    }

    // MARK: success

    @Test func handshakeAndHTTP10ResponseReadToEOF() async throws {
        try await server("server") { s in
            let e = endpoint(port: s.port)
            let response = try await OffPool.run("test") { try HTTPExchange.get("/", endpoint: e, timeout: .seconds(5)) }
            #expect(response.status == 200)
            #expect(response.version == "HTTP/1.0")
            #expect(response.headers["content-type"] == "text/html")
            #expect(response.bodyText.contains("Ciphers supported in s_server binary"))
            #expect(response.bodyText.contains("TLSv1.3"))
            let ping = try await client(e).ping()
            #expect(ping.apiVersion == nil)
        }
    }

    @Test func hostNameVerificationAndSNI() async throws {
        try await server("server") { s in
            let ping = try await client(endpoint("localhost", port: s.port)).ping()
            #expect(ping.apiVersion == nil)
        }
    }

    @Test func fakeEngineAPI() async throws {
        let root = try FakeEngineAPI.make()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let e = try await server("server", mode: .http(root: root)) { s in
            let e = endpoint(port: s.port)
            let c = client(e)
            let ping = try await c.ping()
            #expect(ping == Ping(apiVersion: "1.41", osType: "linux", experimental: false))
            let info = try await c.info()  // negotiates first: /version, then /v1.41/info
            #expect(info.name == "fake1" && info.containers == 2 && info.containersRunning == 1 && info.labels == ["role=test"])
            #expect(try await c.negotiatedAPIVersion() == "1.41")
            let version = try await c.version()
            #expect(version.version == "20.10.24+dfsg1" && version.minAPIVersion == "1.12" && version.kernelVersion == "6.1.0-test")
            let containers = try await c.containers(all: true)
            #expect(containers.map(\.names) == [["/web"], ["/old"]])
            #expect(containers.map(\.state) == ["running", "exited"])
            #expect(try await OffPool.run("t") { try c.containersSync(all: true) } == containers)  // the blocking variant
            let failing = client(e, apiVersion: "1.40")
            let error = await failure { _ = try await failing.info() }
            #expect(error == .http(e, status: 500, path: "/info", message: "daemon is shutting down"))
            #expect(error?.description == "HTTP 500 from /info at 127.0.0.1:\(s.port): daemon is shutting down")
            #expect(try await c.negotiatedAPIVersion() == "1.41")
            return e
        }
        // The server is gone: the negotiated version is cached per client, a new client must ask.
        let again = client(e)
        _ = await failure { _ = try await again.negotiatedAPIVersion() }
    }

    /// A kept connection (the keeper's, for `ls`): /_ping without `Connection: close`, reusable
    /// when the response's framing ends it and it does not say close; a server that closed it
    /// meanwhile (s_server -HTTP serves one request per connection) is an error, not a hang.
    @Test func keptConnectionAsksAgainUntilTheServerEndsIt() async throws {
        let root = try FakeEngineAPI.make()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await server("server", mode: .http(root: root)) { s in
            let e = endpoint(port: s.port)
            try await OffPool.run("test") {
                let kept = try KeptEngineConnection.open(e, timeout: .seconds(5))
                let ping = try kept.ping(timeout: .seconds(5))
                #expect(ping == Ping(apiVersion: "1.41", osType: "linux", experimental: false))
                #expect(kept.reusable && kept.answered == 1)
                #expect(throws: EngineError.self) { _ = try kept.ping(timeout: .seconds(5)) }
                #expect(!kept.reusable && kept.answered == 1)
                let again = #expect(throws: EngineError.self) { _ = try kept.ping(timeout: .seconds(5)) }
                #expect(again == .connectionClosed(e, detail: "the kept connection was closed"))
            }
        }
        // A response that says `Connection: close` leaves the connection unusable at once.
        let ping = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"
        try Data(ping.utf8).write(to: URL(fileURLWithPath: root + "/_ping"))
        try await server("server", mode: .http(root: root)) { s in
            let e = endpoint(port: s.port)
            try await OffPool.run("test") {
                let kept = try KeptEngineConnection.open(e, timeout: .seconds(5))
                #expect(try kept.ping(timeout: .seconds(5)).apiVersion == "1.41")
                #expect(!kept.reusable)
            }
        }
    }

    /// `pingAll` (the keeper's `ls`): one thread asks several daemons at once. Each answer is
    /// given as it comes: the answering servers before the silent one, which is given up at the
    /// deadline; connections the servers closed meanwhile (s_server -HTTP serves one request per
    /// connection) fail as soon as that shows, before a silent one's deadline.
    @Test func pingAllAnswersEachAsItComes() async throws {
        let root = try FakeEngineAPI.make()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await server("server", mode: .http(root: root)) { a in
            try await server("server", mode: .http(root: root)) { b in
                try await server("server", mode: .silent) { quiet in
                    let (ea, eb, eq) = (endpoint(port: a.port), endpoint(port: b.port), endpoint(port: quiet.port))
                    try await OffPool.run("test") {
                        var conns = try [ea, eq, eb].map { try KeptEngineConnection.open($0, timeout: .seconds(5)) }
                        var outcomes: [(Int, Result<Ping, EngineError>)] = []
                        KeptEngineConnection.pingAll(conns, timeout: .seconds(2), deadline: .now + .seconds(2)) {
                            outcomes.append(($0, $1))
                        }
                        #expect(outcomes.map(\.0).last == 1 && Set(outcomes.map(\.0)) == [0, 1, 2])
                        for (i, outcome) in outcomes {
                            switch (i, outcome) {
                            case (0, .success(let ping)), (2, .success(let ping)):
                                #expect(ping == Ping(apiVersion: "1.41", osType: "linux", experimental: false))
                            case (1, .failure(let error)):
                                #expect(error == .timedOut(eq, after: .seconds(2), during: "reading the response"))
                            default:
                                Issue.record("connection \(i): \(outcome)")
                            }
                        }
                        #expect(conns[0].reusable && conns[2].reusable && !conns[1].reusable)
                        // Again on the two the servers closed, beside a new silent one (the
                        // server serves one connection at a time: the first goes first).
                        let closed = [conns[0], conns[2]]
                        conns = []  // closes the silent one
                        let again = closed + [try KeptEngineConnection.open(eq, timeout: .seconds(5))]
                        outcomes = []
                        KeptEngineConnection.pingAll(again, timeout: .seconds(2), deadline: .now + .seconds(2)) {
                            outcomes.append(($0, $1))
                        }
                        #expect(outcomes.map(\.0) == [0, 1, 2] || outcomes.map(\.0) == [1, 0, 2])
                        for (_, outcome) in outcomes {
                            #expect(throws: EngineError.self) { try outcome.get() }
                        }
                        #expect(again.allSatisfy { !$0.reusable })
                    }
                }
            }
        }
    }

    @Test func negotiatedVersionIsCachedPerClient() async throws {
        let root = try FakeEngineAPI.make()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let c = try await server("server", mode: .http(root: root)) { (s: OpenSSLServer) async throws -> EngineClient in
            let c = client(endpoint(port: s.port))
            #expect(try await c.negotiatedAPIVersion() == "1.41")
            return c
        }
        #expect(try await c.negotiatedAPIVersion() == "1.41")  // no daemon any more: from the cache
    }

    // MARK: the daemon's certificate

    @Test func serverCertificateFromAnotherCA() async throws {
        try await server("foreign") { s in
            let e = endpoint(port: s.port)
            let error = await failure { _ = try await client(e).ping() }
            #expect(error == .unknownCA(e, issuer: "CN=otherca"))
            #expect(
                error?.description
                    == "tls: the daemon at 127.0.0.1:\(s.port) presented a certificate not signed by our CA (unknown CA; it was issued by CN=otherca)"
            )
        }
    }

    @Test func serverCertificateForAnotherIP() async throws {
        try await server("wrongsan") { s in
            let e = endpoint(port: s.port)
            let error = await failure { _ = try await client(e).ping() }
            #expect(error == .nameMismatch(e, covered: "IP:10.231.9.9, DNS:elsewhere.test"))
            #expect(
                error?.description
                    == "tls: the daemon's certificate at 127.0.0.1:\(s.port) does not cover 127.0.0.1 (SAN mismatch; it covers IP:10.231.9.9, DNS:elsewhere.test)"
            )
        }
    }

    /// A forward's local end: connected at 127.0.0.1, verified as the machine behind it. The
    /// certificate for 10.231.9.9 and elsewhere.test passes as either; one that covers only
    /// 127.0.0.1 (any tunnelled machine's) does not pass for the machine at 10.231.9.9.
    @Test func connectAtOneNameVerifyAnother() async throws {
        try await server("wrongsan") { s in
            for name in ["10.231.9.9", "elsewhere.test"] {
                var e = endpoint(port: s.port)
                e.verifyName = name
                let ping = try await client(e).ping()
                #expect(ping.apiVersion == nil)
            }
        }
        try await server("server") { s in
            var e = endpoint(port: s.port)
            e.verifyName = "10.231.9.9"
            e.machineName = "web1"
            let error = await failure { _ = try await client(e).ping() }
            #expect(error == .nameMismatch(e, covered: "IP:127.0.0.1, DNS:localhost"))
            #expect(
                error?.description
                    == "tls: the daemon's certificate at 127.0.0.1:\(s.port) does not cover 10.231.9.9 (SAN mismatch; it covers IP:127.0.0.1, DNS:localhost)"
            )
        }
    }

    @Test func serverCertificateForAnotherHostName() async throws {
        try await server("wrongsan") { s in
            var e = endpoint("localhost", port: s.port)
            e.machineName = "web1"
            let error = await failure { _ = try await client(e).ping() }
            #expect(
                error?.description
                    == "tls: the daemon's certificate at localhost:\(s.port) does not cover localhost (SAN mismatch; it covers IP:10.231.9.9, DNS:elsewhere.test)"
            )
        }
    }

    @Test func expiredServerCertificate() async throws {
        try await server("expired") { s in
            let e = endpoint(port: s.port)
            let error = await failure { _ = try await client(e).ping() }
            guard case .certificateExpired(let at, let date, let depth) = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(at == e && depth == 0)
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
            let when = try #require(f.date(from: date), "date \(date)")
            #expect(abs(when.timeIntervalSinceNow + 86400) < 3600)  // made with -days -1
            #expect(error?.description == "tls: the daemon's certificate at 127.0.0.1:\(s.port) expired on \(date)")
        }
    }

    // MARK: our client certificate

    @Test(arguments: [[], ["-tls1_2"]])
    func clientCertificateFromAnotherCA(_ extra: [String]) async throws {
        try await server("server", extra: extra) { s in
            let e = endpoint(port: s.port, client: "otherclient")
            let error = await failure { _ = try await client(e).ping() }
            #expect(error == .clientCertificateRejected(e, detail: "alert: unknown ca"))
            #expect(
                error?.description
                    == "tls: the daemon at 127.0.0.1:\(s.port) refused our client certificate (alert: unknown ca); it trusts another CA")
        }
    }

    @Test func localFileProblems() async throws {
        let e = endpoint(port: 1)
        var missing = e
        missing.tls.caPath = pki.path("nope.pem")
        var mismatched = e
        mismatched.tls.keyPath = pki.path("server-key.pem")
        var encrypted = e
        encrypted.tls.keyPath = pki.path("encrypted-key.pem")
        let cases: [(EngineEndpoint, String)] = [
            (missing, "cannot read CA file \(pki.path("nope.pem")): No such file or directory"),
            (mismatched, "the key \(pki.path("server-key.pem")) does not match the certificate \(pki.path("client.pem"))"),
            (encrypted, "no usable (unencrypted PEM) private key in \(pki.path("encrypted-key.pem"))"),
        ]
        for (endpoint, detail) in cases {
            let error = await failure { _ = try await client(endpoint).ping() }
            guard case .localFile(_, let text) = error else {
                Issue.record("got \(String(describing: error))")
                continue
            }
            #expect(text.hasPrefix(detail), "\(text)")
            #expect(error!.description.hasPrefix("tls: cannot use our certificate files for 127.0.0.1:1: \(detail)"))
            #expect(!text.contains("PRIVATE KEY"))
        }
    }

    // MARK: the network

    @Test func nothingListening() async throws {
        let port = try OpenSSLServer.freePort()
        let e = endpoint(port: port)
        let error = await failure { _ = try await client(e).ping() }
        #expect(error == .connectionRefused(e))
        #expect(error?.description == "connection refused by 127.0.0.1:\(port): no daemon listens there")
    }

    /// A port that answers plain HTTP: OpenSSL's reason (a wrong version number), not its words,
    /// makes it "not TLS".
    @Test func aPortServingPlainHTTPIsNotTLS() async throws {
        let plain = try Blackhole()
        let fd = plain.fd
        let answered = Thread {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            let reply = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = reply.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            usleep(300_000)
            close(c)
        }
        answered.start()
        let e = endpoint(port: plain.port)
        let error = await failure { _ = try await client(e, timeout: .seconds(5)).ping() }
        guard case .notTLS(_, let detail) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.code == "engine.not-tls")
        #expect(
            error!.description == "tls: the connection to the daemon at 127.0.0.1:\(plain.port) failed: \(detail); is the port serving TLS?"
        )
    }

    @Test func unknownHostName() async throws {
        let e = endpoint("no-such-host.invalid", port: 2376)
        let error = await failure { _ = try await client(e).ping() }
        guard case .dnsFailure = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error!.description.hasPrefix("cannot resolve the daemon's host no-such-host.invalid ("))
    }

    @Test func blackholeTimesOutWithinTheDeadline() async throws {
        let hole = try Blackhole()
        let e = endpoint(port: hole.port)
        let start = ContinuousClock.now
        let error = await failure { _ = try await client(e, timeout: .seconds(1)).ping() }
        let elapsed = ContinuousClock.now - start
        #expect(error == .timedOut(e, after: .seconds(1), during: "TLS handshake"))
        #expect(error?.description == "timed out after 1 s (TLS handshake) waiting for the daemon at 127.0.0.1:\(hole.port)")
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(10), "\(elapsed)")
    }

    @Test func silentServerTimesOutReadingTheResponse() async throws {
        try await server("server", mode: .silent) { s in
            let e = endpoint(port: s.port)
            let start = ContinuousClock.now
            let error = await failure { _ = try await client(e, timeout: .seconds(1)).ping() }
            let elapsed = ContinuousClock.now - start
            #expect(error == .timedOut(e, after: .seconds(1), during: "reading the response"))
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(10), "\(elapsed)")
        }
    }

    /// Blocking calls run on their own threads: 12 concurrent 1 s timeouts take about 1 s, not
    /// 6 s (which is what 2 blocked cooperative threads would give), and the pool stays responsive.
    @Test func blockingCallsDoNotOccupyTheCooperativePool() async throws {
        let hole = try Blackhole()
        let c = client(endpoint(port: hole.port), timeout: .seconds(1))
        let start = ContinuousClock.now
        let ticks = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    do { _ = try await c.ping() } catch {}; return 0
                }
            }
            group.addTask {
                var n = 0
                while ContinuousClock.now - start < .milliseconds(800) {
                    try await Task.sleep(for: .milliseconds(50))
                    n += 1
                }
                return n
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .milliseconds(4500), "\(elapsed)")  // two blocked pool threads: 6 s
        #expect(ticks >= 8, "ticker advanced only \(ticks) times")
    }
}
