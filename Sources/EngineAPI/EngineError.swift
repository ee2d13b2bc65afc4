import SwockSupport

/// Everything that can go wrong talking to a daemon. Each description is one readable line that
/// names the daemon (host:port); the next step in terms of the command line is added by
/// SwockCommands from the case.
public enum EngineError: Error, CustomStringConvertible, Sendable, Equatable, Codable {
    case invalidURL(String, reason: String)
    case dnsFailure(EngineEndpoint, detail: String)
    case connectionRefused(EngineEndpoint)
    case unreachable(EngineEndpoint, detail: String)
    /// `during`: what was going on ("connecting", "TLS handshake", "receiving").
    case timedOut(EngineEndpoint, after: Duration, during: String)
    /// The daemon's chain does not lead to our CA; `issuer` names whoever signed it.
    case unknownCA(EngineEndpoint, issuer: String)
    /// The daemon's certificate does not cover `endpoint.host`; `covered` lists what it does cover.
    case nameMismatch(EngineEndpoint, covered: String)
    /// `depth` 0: the daemon's own certificate; more: a CA certificate of its chain.
    case certificateExpired(EngineEndpoint, date: String, depth: Int)
    case certificateNotYetValid(EngineEndpoint, date: String, depth: Int)
    /// Any other verification failure of the daemon's certificate (wrong purpose, ...).
    case certificateInvalid(EngineEndpoint, detail: String)
    case clientCertificateRejected(EngineEndpoint, detail: String)
    /// Our CA, certificate or key file cannot be used (missing, unreadable, key/cert mismatch).
    case localFile(EngineEndpoint, detail: String)
    case connectionClosed(EngineEndpoint, detail: String)
    case network(EngineEndpoint, detail: String)
    /// Any other TLS failure, with OpenSSL's error string.
    case tls(EngineEndpoint, detail: String)
    /// What answered is not TLS (OpenSSL found no TLS record: a wrong version number, a
    /// length no record has), with OpenSSL's error string.
    case notTLS(EngineEndpoint, detail: String)
    /// A non-2xx answer; `message` is the `message` field of the JSON body (or the body's text).
    case http(EngineEndpoint, status: Int, path: String, message: String)
    case invalidResponse(EngineEndpoint, path: String, detail: String)

    /// What the daemon itself said, for an error it answered with; else the whole description.
    public var daemonMessage: String {
        if case .http(_, _, _, let message) = self { return message }
        return description
    }

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            return "invalid engine URL \"\(url)\": \(reason) (expected tcp://HOST:PORT)"
        case .dnsFailure(let e, let detail):
            return "cannot resolve the daemon's host \(e.host) (\(detail))"
        case .connectionRefused(let e):
            return "connection refused by \(e.address): no daemon listens there"
        case .unreachable(let e, let detail):
            return "cannot reach the daemon at \(e.address) (\(detail))"
        case .timedOut(let e, let after, let during):
            return "timed out after \(Self.seconds(after)) (\(during)) waiting for the daemon at \(e.address)"
        case .unknownCA(let e, let issuer):
            let by = issuer.isEmpty ? "" : "; it was issued by \(issuer)"
            return "tls: the daemon at \(e.address) presented a certificate not signed by our CA (unknown CA\(by))"
        case .nameMismatch(let e, let covered):
            return "tls: the daemon's certificate at \(e.address) does not cover \(e.verifiedName) (SAN mismatch; it covers \(covered))"
        case .certificateExpired(let e, let date, let depth):
            if depth > 0 {
                return "tls: the CA certificate in the chain of the daemon at \(e.address) expired on \(date)"
            }
            return "tls: the daemon's certificate at \(e.address) expired on \(date)"
        case .certificateNotYetValid(let e, let date, let depth):
            let which = depth > 0 ? "a CA certificate in the chain of the daemon" : "the daemon's certificate"
            return "tls: \(which) at \(e.address) is not valid before \(date); check the clocks of this computer and of the machine"
        case .certificateInvalid(let e, let detail):
            return "tls: the daemon's certificate at \(e.address) was rejected (\(detail))"
        case .clientCertificateRejected(let e, let detail):
            return "tls: the daemon at \(e.address) refused our client certificate (\(detail)); it trusts another CA"
        case .localFile(let e, let detail):
            return "tls: cannot use our certificate files for \(e.address): \(detail)"
        case .connectionClosed(let e, let detail):
            return "the daemon at \(e.address) closed the connection (\(detail)); is this a Docker TLS port?"
        case .network(let e, let detail):
            return "network error talking to the daemon at \(e.address): \(detail)"
        case .tls(let e, let detail):
            return "tls: the connection to the daemon at \(e.address) failed: \(detail)"
        case .notTLS(let e, let detail):
            return "tls: the connection to the daemon at \(e.address) failed: \(detail); is the port serving TLS?"
        case .http(let e, let status, let path, let message):
            return "HTTP \(status) from \(path) at \(e.address): \(message)"
        case .invalidResponse(let e, let path, let detail):
            return "invalid response from the daemon at \(e.address) for \(path): \(detail)"
        }
    }

    /// "3 s", "1.5 s", "0.25 s".
    static func seconds(_ d: Duration) -> String {
        let (s, atto) = d.components
        let millis = s * 1000 + atto / 1_000_000_000_000_000
        if millis % 1000 == 0 { return "\(millis / 1000) s" }
        var text = String(format3(millis))
        while text.hasSuffix("0") { text.removeLast() }
        return text + " s"
    }

    private static func format3(_ millis: Int64) -> String {
        let whole = millis / 1000, frac = abs(millis % 1000)
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: 3 - f.count) + f
    }
}

extension EngineError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .invalidURL: return "engine.invalid-url"
        case .dnsFailure: return "engine.dns-failure"
        case .connectionRefused: return "engine.connection-refused"
        case .unreachable: return "engine.unreachable"
        case .timedOut: return "engine.timed-out"
        case .unknownCA: return "engine.unknown-ca"
        case .nameMismatch: return "engine.name-mismatch"
        case .certificateExpired: return "engine.certificate-expired"
        case .certificateNotYetValid: return "engine.certificate-not-yet-valid"
        case .certificateInvalid: return "engine.certificate-invalid"
        case .clientCertificateRejected: return "engine.client-certificate-rejected"
        case .localFile: return "engine.local-file"
        case .connectionClosed: return "engine.connection-closed"
        case .network: return "engine.network"
        case .tls: return "engine.tls"
        case .notTLS: return "engine.not-tls"
        case .http: return "engine.http"
        case .invalidResponse: return "engine.invalid-response"
        }
    }

    /// The daemon this error is about (nil for a URL that could not be read).
    public var endpoint: EngineEndpoint? {
        switch self {
        case .invalidURL: return nil
        case .dnsFailure(let e, _), .connectionRefused(let e), .unreachable(let e, _), .timedOut(let e, _, _),
            .unknownCA(let e, _), .nameMismatch(let e, _), .certificateExpired(let e, _, _), .certificateNotYetValid(let e, _, _),
            .certificateInvalid(let e, _), .clientCertificateRejected(let e, _), .localFile(let e, _), .connectionClosed(let e, _),
            .network(let e, _), .tls(let e, _), .notTLS(let e, _), .http(let e, _, _, _), .invalidResponse(let e, _, _):
            return e
        }
    }
}
