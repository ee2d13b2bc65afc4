import CTLS
import Foundation

/// A classified failure from the CTLS shim: what happened as values (the kind, the phase,
/// OpenSSL's error code, the verify result, the peer's alert), decided on here; `message` is the
/// shim's text for people only.
struct TLSFailure: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case refused, timeout, dns, unreachable, network, unknownCA, nameMismatch, expired
        case notYetValid, certificateInvalid, clientCertificateRejected, localFile, closed, other
    }
    /// What the connection was doing.
    enum Phase: Sendable, Equatable {
        case none, setup, connect, handshake, verify, send, receive
    }
    var kind: Kind
    var message: String
    var phase: Phase = .none
    var sysErrno: Int32 = 0
    var verifyError: Int = 0
    var certDepth: Int = -1
    var certTime: String = ""
    var certInfo: String = ""
    /// OpenSSL's error: ERR_GET_LIB and ERR_GET_REASON (0 when there was none).
    var library: Int32 = 0
    var reason: Int32 = 0
    /// The TLS alert the peer sent (RFC 8446 AlertDescription), nil when none.
    var alert: Int? = nil
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

    /// As `read`, without waiting: nil when no application data is complete yet.
    func readAvailable(into buffer: inout [UInt8]) throws(TLSFailure) -> Int? {
        var status = ctls_status()
        var err = [CChar](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes {
            ctls_read_available(conn, $0.baseAddress, $0.count, &status, &err, err.count)
        }
        if n == Int(CTLS_WOULD_BLOCK) { return nil }
        if n < 0 { throw TLSFailure(status: status, message: err) }
        return n
    }

    var protocolName: String { String(cString: ctls_protocol(conn)) }

    /// The socket, to poll for the peer's bytes (read and write through this object only).
    var fileDescriptor: Int32 { ctls_fd(conn) }

    /// Whether decrypted data is already read from the socket (a read returns it at once;
    /// polling the socket would not announce it).
    var hasBufferedData: Bool { ctls_has_buffered(conn) == 1 }
}

extension TLSFailure {
    init(status: ctls_status, message: [CChar]) {
        var s = status
        self.init(kind: Self.kind(status.code), message: Self.string(message))
        phase = Self.phase(status.phase)
        library = status.err_lib
        reason = status.err_reason
        alert = status.alert >= 0 ? Int(status.alert) : nil
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

    private static func phase(_ p: ctls_phase) -> Phase {
        switch p {
        case CTLS_PHASE_SETUP: .setup
        case CTLS_PHASE_CONNECT: .connect
        case CTLS_PHASE_HANDSHAKE: .handshake
        case CTLS_PHASE_VERIFY: .verify
        case CTLS_PHASE_SEND: .send
        case CTLS_PHASE_RECEIVE: .receive
        default: .none
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
        case .timeout: return .timedOut(e, after: timeout, during: Self.during(phase) ?? message)
        case .dns: return .dnsFailure(e, detail: message)
        case .unreachable: return .unreachable(e, detail: Self.errnoText(sysErrno, fallback: message))
        case .unknownCA: return .unknownCA(e, issuer: certInfo)
        case .nameMismatch: return .nameMismatch(e, covered: certInfo.isEmpty ? "other names" : certInfo)
        case .expired: return .certificateExpired(e, date: certTime, depth: certDepth)
        case .notYetValid: return .certificateNotYetValid(e, date: certTime, depth: certDepth)
        case .certificateInvalid: return .certificateInvalid(e, detail: message)
        case .clientCertificateRejected:
            return .clientCertificateRejected(e, detail: alert.map(Self.alertText) ?? message)
        case .localFile: return .localFile(e, detail: message)
        case .closed: return .connectionClosed(e, detail: message)
        case .network:
            if !receivedAnything && sysErrno == ECONNRESET {
                return .connectionClosed(e, detail: "reset before any response; the daemon may have refused our client certificate")
            }
            return .network(e, detail: message)
        case .other:
            // A record that is no TLS record: the port answers in another protocol (plain HTTP).
            if library == ctls_err_lib_ssl && [ctls_ssl_r_wrong_version_number, ctls_ssl_r_packet_length_too_long].contains(reason) {
                return .notTLS(e, detail: message)
            }
            return .tls(e, detail: message)
        }
    }

    /// The phase as a timeout names it ("timed out after 3 s (TLS handshake)"); nil: none known.
    static func during(_ phase: Phase) -> String? {
        switch phase {
        case .connect: "connecting"
        case .handshake, .verify: "TLS handshake"
        case .send: "sending the request"
        case .receive: "reading the response"
        case .setup, .none: nil
        }
    }

    /// The peer's alert by its RFC 8446 name: 48 -> "alert: unknown ca".
    static func alertText(_ alert: Int) -> String {
        let names: [Int: String] = [
            0: "close notify", 10: "unexpected message", 20: "bad record mac", 22: "record overflow", 40: "handshake failure",
            42: "bad certificate", 43: "unsupported certificate", 44: "certificate revoked", 45: "certificate expired",
            46: "certificate unknown", 47: "illegal parameter", 48: "unknown ca", 49: "access denied", 50: "decode error",
            51: "decrypt error", 70: "protocol version", 71: "insufficient security", 80: "internal error",
            86: "inappropriate fallback", 90: "user canceled", 109: "missing extension", 110: "unsupported extension",
            112: "unrecognized name", 113: "bad certificate status response", 115: "unknown psk identity",
            116: "certificate required", 120: "no application protocol",
        ]
        return "alert: " + (names[alert] ?? "number \(alert)")
    }

    private static func errnoText(_ code: Int32, fallback: String) -> String {
        guard code != 0, let text = strerror(code) else { return fallback }
        return String(cString: text)
    }
}
