import Foundation
import SwockPKI
import Testing

struct PassphraseSealTests {
    let plain = Data("the archive, CA key included".utf8)

    @Test func opensWithThePassphraseOnly() throws {
        let sealed = try PassphraseSeal.seal(plain, passphrase: "correct horse", cost: 10)
        #expect(PassphraseSeal.isSealed(sealed))
        #expect(sealed.range(of: plain) == nil, "the plaintext shows through")
        #expect(try PassphraseSeal.open(sealed, passphrase: "correct horse") == plain)
        #expect(throws: PassphraseSeal.Failure.wrongPassphraseOrChanged) { try PassphraseSeal.open(sealed, passphrase: "correct horsE") }
    }

    @Test func twoSealsOfOneTextDiffer() throws {
        // A fresh salt and nonce each time.
        #expect(try PassphraseSeal.seal(plain, passphrase: "p", cost: 10) != PassphraseSeal.seal(plain, passphrase: "p", cost: 10))
    }

    @Test func anyChangedOrMissingByteIsRefused() throws {
        let sealed = try PassphraseSeal.seal(plain, passphrase: "p", cost: 10)
        for i in [PassphraseSeal.magic.count + 3, sealed.count / 2, sealed.count - 1] {
            var bad = sealed
            bad[i] ^= 0x20
            #expect(throws: PassphraseSeal.Failure.self) { try PassphraseSeal.open(bad, passphrase: "p") }
        }
        #expect(throws: PassphraseSeal.Failure.wrongPassphraseOrChanged) { try PassphraseSeal.open(sealed.dropLast(5), passphrase: "p") }
    }

    @Test func theDefaultCostIsMemoryHard() throws {
        let sealed = try PassphraseSeal.seal(plain, passphrase: "p")
        let header = String(decoding: sealed.prefix(200), as: UTF8.self)
        #expect(header.contains("\"kdf\":\"scrypt\"") && header.contains("\"n\":32768") && header.contains("\"r\":8"), "\(header)")
        #expect(try PassphraseSeal.open(sealed, passphrase: "p") == plain)
        #expect(throws: PassphraseSeal.Failure.emptyPassphrase) { try PassphraseSeal.seal(plain, passphrase: "") }
    }
}
