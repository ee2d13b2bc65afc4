import CTLS
import Testing

@testable import EngineAPI

/// A TLS failure becomes an EngineError from the shim's values (phase, OpenSSL's library and
/// reason, the peer's alert), never from the words of its message.
@Suite struct TLSFailureTests {
    static let e = EngineEndpoint(host: "10.231.1.12", port: 2376, tls: TLSFiles(directory: "/c"))

    @Test func aRecordThatIsNoTLSIsKnownByOpenSSLsReason() {
        let text = "TLS handshake: error:0A00010B:SSL routines::wrong version number"
        for reason in [ctls_ssl_r_wrong_version_number, ctls_ssl_r_packet_length_too_long] {
            let f = TLSFailure(kind: .other, message: text, phase: .handshake, library: ctls_err_lib_ssl, reason: reason)
            #expect(f.engineError(Self.e, timeout: .seconds(3)) == .notTLS(Self.e, detail: text))
        }
        // The same words with another code (or none) are not read.
        let other = TLSFailure(kind: .other, message: text, phase: .handshake)
        #expect(other.engineError(Self.e, timeout: .seconds(3)) == .tls(Self.e, detail: text))
        #expect(!EngineError.tls(Self.e, detail: text).description.contains("serving TLS"))
        #expect(EngineError.notTLS(Self.e, detail: "x").description.hasSuffix("; is the port serving TLS?"))
        #expect(EngineError.notTLS(Self.e, detail: "x").code == "engine.not-tls")
    }

    @Test func aTimeoutNamesItsPhase() {
        let cases: [(TLSFailure.Phase, String)] = [
            (.connect, "connecting"), (.handshake, "TLS handshake"), (.verify, "TLS handshake"),
            (.send, "sending the request"), (.receive, "reading the response"),
        ]
        for (phase, during) in cases {
            // The message says another phase: the value decides.
            let f = TLSFailure(kind: .timeout, message: "receiving timed out", phase: phase)
            #expect(f.engineError(Self.e, timeout: .seconds(3)) == .timedOut(Self.e, after: .seconds(3), during: during))
        }
    }

    @Test func aRejectedClientCertificateNamesThePeersAlert() {
        let f = TLSFailure(kind: .clientCertificateRejected, message: "the server refused our client certificate (x)", alert: 48)
        #expect(f.engineError(Self.e, timeout: .seconds(3)) == .clientCertificateRejected(Self.e, detail: "alert: unknown ca"))
        #expect(TLSFailure.alertText(116) == "alert: certificate required")
        #expect(TLSFailure.alertText(42) == "alert: bad certificate")
        #expect(TLSFailure.alertText(250) == "alert: number 250")
        // No alert known: the shim's text as it is.
        let none = TLSFailure(kind: .clientCertificateRejected, message: "refused")
        #expect(none.engineError(Self.e, timeout: .seconds(3)) == .clientCertificateRejected(Self.e, detail: "refused"))
    }

    /// The shim fills the values: a status as the C side leaves it maps to the phase and alert.
    @Test func theShimsStatusIsReadAsValues() {
        var st = ctls_status()
        st.code = CTLS_ERR_CLIENT_CERT_REJECTED
        st.phase = CTLS_PHASE_SEND
        st.err_lib = ctls_err_lib_ssl
        st.err_reason = 1048
        st.alert = 48
        st.cert_depth = -1
        let f = TLSFailure(status: st, message: Array("m".utf8CString))
        #expect(
            f.kind == .clientCertificateRejected && f.phase == .send && f.alert == 48 && f.library == ctls_err_lib_ssl && f.reason == 1048)
        st.alert = -1
        #expect(TLSFailure(status: st, message: []).alert == nil)
    }
}
