import CTLS
import Foundation

/// A classified failure from the CTLS shim.
struct TLSFailure: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case refused, timeout, dns, unreachable, network, unknownCA, nameMismatch, expired
        case notYetValid, certificateInvalid, clientCertificateRejected, localFile, closed, other
    }
    var kind: Kind
    var message: String
    var sysErrno: Int32 = 0
    var verifyError: Int = 0
    var certDepth: Int = -1
    var certTime: String = ""
    var certInfo: String = ""
}

/// One blocking TLS connection (owned by a single thread). Closed on deinit.
final class TLSConnection {
    private let conn: OpaquePointer

    private init(conn: OpaquePointer) { self.conn = conn }

    deinit { ctls_close(conn) }

    /// Connects to `host` and verifies the daemon's certificate as `verifyName` (nil: `host`),
    /// offering `session` (a blob of `exportSession`) for resumption: the shim offers it only when
    /// it was made with these files and name and the daemon certificate it holds still verifies.
    static func connect(
        host: String, port: Int, verifyName: String? = nil, files: TLSFiles,
        session: [UInt8]? = nil, timeoutMS: Int32
    ) throws(TLSFailure) -> TLSConnection {
        var status = ctls_status()
        var err = [CChar](repeating: 0, count: 512)
        let c: OpaquePointer?
        if let session, !session.isEmpty {
            c = session.withUnsafeBytes {
                ctls_connect_resuming(
                    host, Int32(port), verifyName, files.caPath, files.certPath, files.keyPath,
                    $0.baseAddress, $0.count, timeoutMS, &status, &err, err.count)
            }
        } else {
            c = ctls_connect(
                host, Int32(port), verifyName, files.caPath, files.certPath, files.keyPath, timeoutMS,
                &status, &err, err.count)
        }
        guard let c else { throw TLSFailure(status: status, message: err) }
        return TLSConnection(conn: c)
    }

    /// Whether the handshake resumed a saved session (false: a full one, certificates verified).
    var resumed: Bool { ctls_session_reused(conn) == 1 }

    /// The newest session the daemon gave on this connection (tickets arrive after the
    /// handshake: ask after reading) and the daemon's lifetime hint in seconds (0: none).
    func exportSession() -> (blob: [UInt8], lifetime: Int)? {
        var lifetime: UInt = 0
        let size = ctls_session_export(conn, nil, 0, &lifetime)
        guard size > 0 else { return nil }
        var blob = [UInt8](repeating: 0, count: size)
        let n = blob.withUnsafeMutableBytes { ctls_session_export(conn, $0.baseAddress, $0.count, &lifetime) }
        guard n == size else { return nil }
        return (blob, Int(clamping: lifetime))
    }

    func setTimeout(ms: Int32) { _ = ctls_set_io_timeout(conn, max(ms, 1)) }

    func write(_ bytes: [UInt8]) throws(TLSFailure) {
        var status = ctls_status()
        var err = [CChar](repeating: 0, count: 512)
        let r = bytes.withUnsafeBytes { ctls_write_all(conn, $0.baseAddress, $0.count, &status, &err, err.count) }
        if r != 0 { throw TLSFailure(status: status, message: err) }
    }

    /// Reads into buffer; returns the byte count, 0 at EOF.
    func read(into buffer: inout [UInt8]) throws(TLSFailure) -> Int {
        var status = ctls_status()
        var err = [CChar](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { ctls_read(conn, $0.baseAddress, $0.count, &status, &err, err.count) }
        if n < 0 { throw TLSFailure(status: status, message: err) }
        return n
    }

    var protocolName: String { String(cString: ctls_protocol(conn)) }
}

extension TLSFailure {
    init(status: ctls_status, message: [CChar]) {
        var s = status
        self.init(kind: Self.kind(status.code), message: Self.string(message))
        sysErrno = status.sys_errno
        verifyError = status.verify_error
        certDepth = Int(status.cert_depth)
        certTime = withUnsafeBytes(of: &s.cert_time) { Self.string($0) }
        certInfo = withUnsafeBytes(of: &s.cert_info) { Self.string($0) }
    }

    private static func kind(_ code: ctls_code) -> Kind {
        switch code {
        case CTLS_ERR_REFUSED: .refused
        case CTLS_ERR_TIMEOUT: .timeout
        case CTLS_ERR_DNS: .dns
        case CTLS_ERR_UNREACHABLE: .unreachable
        case CTLS_ERR_NETWORK: .network
        case CTLS_ERR_UNKNOWN_CA: .unknownCA
        case CTLS_ERR_NAME_MISMATCH: .nameMismatch
        case CTLS_ERR_CERT_EXPIRED: .expired
        case CTLS_ERR_CERT_NOT_YET_VALID: .notYetValid
        case CTLS_ERR_CERT_INVALID: .certificateInvalid
        case CTLS_ERR_CLIENT_CERT_REJECTED: .clientCertificateRejected
        case CTLS_ERR_LOCAL_FILE: .localFile
        case CTLS_ERR_CLOSED: .closed
        default: .other
        }
    }

    private static func string(_ chars: [CChar]) -> String {
        chars.withUnsafeBytes { string($0) }
    }

    private static func string(_ raw: UnsafeRawBufferPointer) -> String {
        let bytes = raw.prefix(while: { $0 != 0 })
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The EngineError for this failure at endpoint (timeout is the caller's deadline).
    func engineError(_ e: EngineEndpoint, timeout: Duration, receivedAnything: Bool = true) -> EngineError {
        switch kind {
        case .refused: return .connectionRefused(e)
        case .timeout: return .timedOut(e, after: timeout, during: Self.phase(message))
        case .dns: return .dnsFailure(e, detail: message)
        case .unreachable: return .unreachable(e, detail: Self.errnoText(sysErrno, fallback: message))
        case .unknownCA: return .unknownCA(e, issuer: certInfo)
        case .nameMismatch: return .nameMismatch(e, covered: certInfo.isEmpty ? "other names" : certInfo)
        case .expired: return .certificateExpired(e, date: certTime, depth: certDepth)
        case .notYetValid: return .certificateNotYetValid(e, date: certTime, depth: certDepth)
        case .certificateInvalid: return .certificateInvalid(e, detail: message)
        case .clientCertificateRejected:
            return .clientCertificateRejected(e, detail: Self.alert(message))
        case .localFile: return .localFile(e, detail: message)
        case .closed: return .connectionClosed(e, detail: message)
        case .network:
            if !receivedAnything && sysErrno == ECONNRESET {
                return .connectionClosed(e, detail: "reset before any response; the daemon may have refused our client certificate")
            }
            return .network(e, detail: message)
        case .other: return .tls(e, detail: message)
        }
    }

    /// "the server refused our client certificate (tlsv1 alert unknown ca)" -> "alert: unknown ca"
    private static func alert(_ message: String) -> String {
        guard let open = message.lastIndex(of: "("), message.hasSuffix(")") else { return message }
        var inner = String(message[message.index(after: open)..<message.index(before: message.endIndex)])
        for prefix in ["sslv3 alert ", "tlsv13 alert ", "tlsv1 alert "] where inner.hasPrefix(prefix) {
            inner = "alert: " + inner.dropFirst(prefix.count)
        }
        return inner
    }

    private static func phase(_ message: String) -> String {
        if message.hasPrefix("TLS handshake") { return "TLS handshake" }
        if message.hasPrefix("connecting") { return "connecting" }
        if message.hasPrefix("sending") { return "sending the request" }
        if message.hasPrefix("receiving") { return "reading the response" }
        return message
    }

    private static func errnoText(_ code: Int32, fallback: String) -> String {
        guard code != 0, let text = strerror(code) else { return fallback }
        return String(cString: text)
    }
}
