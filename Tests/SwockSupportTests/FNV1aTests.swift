import SwockSupport
import Testing

/// FNV-1a 64 against the published test vectors (and the padding of its hex form).
struct FNV1aTests {
    @Test func publishedVectors() {
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hex("foobar") == "85944171f73967e8")
        #expect(FNV1a.hex("").count == 16)
    }
}
