import Foundation
import SwockPKI
import Testing

/// Measures (prints, does not assert) how long issuing a certificate takes per key type.
@Suite("issuance timing")
struct IssuanceTimingTests {
    @Test("time per CA generation and per leaf issuance", arguments: KeyType.allCases)
    func timing(keyType: KeyType) throws {
        let clock = ContinuousClock()
        let rounds = keyType == .rsa2048 ? 5 : 50
        var ca: CertificateAuthority?
        let caTime = try clock.measure {
            for _ in 0..<rounds { ca = try CertificateAuthority.generate(keyType: keyType) }
        }
        let authority = try #require(ca)
        let leafTime = try clock.measure {
            for _ in 0..<rounds { _ = try authority.issueClientCertificate(keyType: keyType) }
        }
        func ms(_ d: Duration) -> String {
            let c = d.components
            return String(format: "%.2f", (Double(c.seconds) * 1e3 + Double(c.attoseconds) / 1e15) / Double(rounds))
        }
        print("[timing] \(keyType.rawValue): CA generate \(ms(caTime)) ms, leaf issue \(ms(leafTime)) ms (mean of \(rounds))")
    }
}
