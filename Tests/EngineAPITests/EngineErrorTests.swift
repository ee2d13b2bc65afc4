import Testing

@testable import EngineAPI

@Suite struct EngineErrorTests {
    static let web1 = EngineEndpoint(host: "10.231.1.12", port: 2376, tls: TLSFiles(directory: "/c"), machineName: "web1")
    static let anon = EngineEndpoint(host: "10.231.1.12", port: 2376, tls: TLSFiles(directory: "/c"))

    @Test(arguments: [
        (
            EngineError.unknownCA(web1, issuer: "CN=otherca"),
            "tls: the daemon at 10.231.1.12:2376 presented a certificate not signed by our CA (unknown CA; it was issued by CN=otherca)"
        ),
        (
            .nameMismatch(web1, covered: "IP:10.231.1.11, DNS:web1"),
            "tls: the daemon's certificate at 10.231.1.12:2376 does not cover 10.231.1.12 (SAN mismatch; it covers IP:10.231.1.11, DNS:web1)"
        ),
        (
            .certificateExpired(web1, date: "2024-01-31 12:00:00 UTC", depth: 0),
            "tls: the daemon's certificate at 10.231.1.12:2376 expired on 2024-01-31 12:00:00 UTC"
        ),
        (
            .certificateExpired(anon, date: "2024-01-31 12:00:00 UTC", depth: 1),
            "tls: the CA certificate in the chain of the daemon at 10.231.1.12:2376 expired on 2024-01-31 12:00:00 UTC"
        ),
        (
            .certificateNotYetValid(web1, date: "2030-01-01 00:00:00 UTC", depth: 0),
            "tls: the daemon's certificate at 10.231.1.12:2376 is not valid before 2030-01-01 00:00:00 UTC; check the clocks of this computer and of the machine"
        ),
        (
            .clientCertificateRejected(web1, detail: "alert: unknown ca"),
            "tls: the daemon at 10.231.1.12:2376 refused our client certificate (alert: unknown ca); it trusts another CA"
        ),
        (
            .connectionRefused(web1),
            "connection refused by 10.231.1.12:2376: no daemon listens there"
        ),
        (
            .timedOut(web1, after: .seconds(3), during: "TLS handshake"),
            "timed out after 3 s (TLS handshake) waiting for the daemon at 10.231.1.12:2376"
        ),
        (
            .timedOut(web1, after: .milliseconds(1500), during: "connecting"),
            "timed out after 1.5 s (connecting) waiting for the daemon at 10.231.1.12:2376"
        ),
        (.http(web1, status: 500, path: "/info", message: "boom"), "HTTP 500 from /info at 10.231.1.12:2376: boom"),
        (
            .notTLS(web1, detail: "error:0A00010B:SSL routines::wrong version number"),
            "tls: the connection to the daemon at 10.231.1.12:2376 failed: error:0A00010B:SSL routines::wrong version number; is the port serving TLS?"
        ),
        (
            .tls(web1, detail: "error:0A000410:SSL routines::ssl/tls alert handshake failure"),
            "tls: the connection to the daemon at 10.231.1.12:2376 failed: error:0A000410:SSL routines::ssl/tls alert handshake failure"
        ),
        (
            .dnsFailure(EngineEndpoint(host: "nowhere.invalid", tls: TLSFiles(directory: "/c")), detail: "Name or service not known"),
            "cannot resolve the daemon's host nowhere.invalid (Name or service not known)"
        ),
        (
            .localFile(web1, detail: "cannot read key file /c/key.pem: No such file or directory"),
            "tls: cannot use our certificate files for 10.231.1.12:2376: cannot read key file /c/key.pem: No such file or directory"
        ),
    ])
    func describes(_ error: EngineError, _ text: String) {
        #expect(error.description == text)
        #expect(!error.description.contains("\n"))
    }

    @Test(arguments: [(Duration.seconds(10), "10 s"), (.milliseconds(250), "0.25 s"), (.milliseconds(1001), "1.001 s")])
    func seconds(_ d: Duration, _ text: String) {
        #expect(EngineError.seconds(d) == text)
    }

    @Test(arguments: [
        ("/v1.41/info", "/info"), ("/v1.47/containers/json?all=1", "/containers/json?all=1"),
        ("/version", "/version"), ("/_ping", "/_ping"), ("/volumes", "/volumes"),
    ])
    func unversioned(_ path: String, _ expected: String) {
        #expect(EngineClient.unversioned(path) == expected)
    }

    @Test(arguments: [
        ("{\"message\":\"page not found\"}", "Not Found", "page not found"),
        ("plain text\nsecond line", "Not Found", "plain text"),
        ("", "Not Found", "Not Found"),
        ("{\"other\":1}", "", "{\"other\":1}"),
    ])
    func httpErrorMessage(_ body: String, _ reason: String, _ expected: String) {
        let r = HTTPResponse(version: "HTTP/1.1", status: 404, reason: reason, headers: HTTPHeaders(), body: Array(body.utf8))
        #expect(EngineClient.errorMessage(r) == expected)
    }
}
