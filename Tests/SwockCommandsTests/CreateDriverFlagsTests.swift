import Foundation
import SwockDrivers
import Testing

@testable import SwockCommands

/// `create`'s driver flags: ArgumentParser keeps the words it does not know, in order, and the
/// driver's parser reads them.
@Suite struct CreateDriverFlagsTests {
    @Test func aDriversFlagsAndTheNameReachTheDriversParserInOrder() throws {
        let c = try Create.parse(["-d", "none", "--url", "tcp://10.231.1.5:2376", "--tls-ca-cert=/ca.pem", "ext1", "--label", "a=b"])
        #expect(c.driver == "none" && c.labels == ["a=b"])
        let (v, operands) = try DriverFlagParser.parse(c.words, flags: NoneKind.flags, driver: "none", environment: [:])
        #expect(operands == ["ext1"] && v.string("url") == "tcp://10.231.1.5:2376" && v.string("tls-ca-cert") == "/ca.pem")
    }

    @Test func genericTakesOneNameAndRefusesAFlagItDoesNotHave() throws {
        let ok = try Create.parse(["--generic-ip-address", "10.231.1.9", "web1"])
        #expect(ok.name == "web1")
        try ok.refuseUnknownWords()
        let bad = try Create.parse(["--generic-ip-address", "10.231.1.9", "--qemu-cpus", "2", "web1"])
        #expect(throws: DriverError.self) { try bad.refuseUnknownWords() }
        let none = try Create.parse(["-d", "none", "--generic-ip-address", "10.231.1.9", "web1"])
        #expect(none.genericFlagsGiven == ["--generic-ip-address"])
    }

    @Test func createDashDNoneHelpListsItsFlags() async throws {
        let page = try #require(await CreateDriverHelp.page(["create", "-d", "none", "--help"]))
        #expect(
            !page.failed && page.text.contains("NONE DRIVER FLAGS:") && page.text.contains("--url <string>")
                && page.text.contains("--tls-client-key <string>"))
        #expect(await CreateDriverHelp.page(["create", "--help"]) == nil, "generic's page is ArgumentParser's")
        let unknown = try #require(await CreateDriverHelp.page(["create", "--driver=nosuch", "-h"]))
        #expect(unknown.failed && unknown.text.hasPrefix("Error: no driver \"nosuch\""))
    }
}
