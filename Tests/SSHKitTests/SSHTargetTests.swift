import SSHKit
import Testing

@Suite struct SSHTargetTests {
    @Test func targetStripsIPv6Brackets() {
        #expect(SSHTarget(host: "[::1]", port: 2222).host == "::1")
        #expect(SSHTarget(host: "10.231.1.10").port == 22)
        #expect(SSHTarget(host: "10.231.1.10").user == "root")
    }
}
