import Testing

@testable import EngineAPI

@Suite struct APIVersionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var serverMax: String, serverMin: String?, override: String?, expected: String
        var testDescription: String { "max \(serverMax) min \(serverMin ?? "-") override \(override ?? "-") -> \(expected)" }
    }

    @Test(arguments: [
        Case(serverMax: "1.41", serverMin: "1.12", override: nil, expected: "1.41"),  // dockerd 20.10
        Case(serverMax: "1.51", serverMin: "1.44", override: nil, expected: "1.47"),  // docker 29: capped by us
        Case(serverMax: "1.47", serverMin: nil, override: nil, expected: "1.47"),
        Case(serverMax: "1.9", serverMin: nil, override: nil, expected: "1.9"),  // numeric, not lexical
        Case(serverMax: "1.100", serverMin: nil, override: nil, expected: "1.47"),
        Case(serverMax: "2.0", serverMin: "1.50", override: nil, expected: "1.50"),  // never below the server's minimum
        Case(serverMax: "1.41", serverMin: "1.12", override: "1.40", expected: "1.40"),  // override wins
        Case(serverMax: "1.41", serverMin: "1.12", override: "v1.43", expected: "1.43"),
        Case(serverMax: "1.41", serverMin: "1.12", override: "  ", expected: "1.41"),  // blank override ignored
        Case(serverMax: "", serverMin: nil, override: nil, expected: "1.47"),
    ])
    func negotiate(_ c: Case) {
        #expect(APIVersion.negotiate(serverMax: c.serverMax, serverMin: c.serverMin, override: c.override) == c.expected)
    }

    @Test(arguments: [
        ("1.9", "1.41", APIVersion.Ordering.orderedAscending),
        ("1.41", "1.41.0", .orderedSame),
        ("1.47", "1.41", .orderedDescending),
        ("v1.41", "1.41", .orderedSame),
        ("2", "1.99", .orderedDescending),
    ])
    func compare(_ a: String, _ b: String, _ expected: APIVersion.Ordering) {
        #expect(APIVersion.compare(a, b) == expected)
    }

    @Test func overrideComesFromTheInitializer() async throws {
        let files = TLSFiles(directory: "/nonexistent")
        let client = EngineClient(endpoint: EngineEndpoint(host: "127.0.0.1", tls: files), apiVersionOverride: "1.40")
        #expect(try await client.negotiatedAPIVersion() == "1.40")  // no daemon asked
        let plain = EngineClient(endpoint: EngineEndpoint(host: "127.0.0.1", tls: files), apiVersionOverride: "")
        #expect(plain.apiVersionOverride == nil)
    }
}
