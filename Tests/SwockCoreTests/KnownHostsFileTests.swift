import Foundation
import SSHKit
import Testing

@testable import SwockProvision

/// `create --ssh-known-hosts FILE` and `--ssh-host-key-fingerprint`: what is taken from the file,
/// which fingerprints are accepted, and what a fleet file may say.
struct KnownHostsFileTests {
    static let keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cjBm8UAmb9pLmU"
    static let keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHmaHCchVFMS0Mb85m9RNF5b5W87Vvl5HkhUvyGscysx"

    @Test func labelsAsOpenSSHWritesThem() {
        #expect(KnownHostsFile.label(host: "10.231.1.5", port: 22) == "10.231.1.5")
        #expect(KnownHostsFile.label(host: "10.231.1.6", port: 2222) == "[10.231.1.6]:2222")
    }

    @Test func plainAndCommaListedNamesMatchExactly() {
        let text = """
            # a comment
            10.231.1.5 \(Self.keyA)
            web1,10.231.1.7 \(Self.keyB) comment here
            10.231.1.50 \(Self.keyB)
            *.lan \(Self.keyB)
            @revoked 10.231.1.5 \(Self.keyB)
            @cert-authority 10.231.1.5 \(Self.keyB)
            [10.231.1.5]:2222 \(Self.keyB)
            10.231.1.5 \(Self.keyA)
            """
        let found = KnownHostsFile.entries(in: text, for: ["10.231.1.5", "10.231.1.7", "x.lan", "[10.231.1.5]:2222"])
        #expect(found["10.231.1.5"] == ["10.231.1.5 \(Self.keyA)"])
        #expect(found["10.231.1.7"] == ["10.231.1.7 \(Self.keyB)"])
        #expect(found["x.lan"] == nil, "a wildcard pattern matched")
        #expect(found["[10.231.1.5]:2222"] == ["[10.231.1.5]:2222 \(Self.keyB)"])
    }

    /// Written by `ssh-keygen -H` from "10.231.1.5 keyA" and "[10.231.1.6]:2222 keyB".
    @Test func hashedNamesMatchTheirHostOnly() {
        let text = """
            |1|shjKylyoRUBpKw/++mTeU1mgotg=|8qyh7COEkLmO7eD8c/S23MFGC2Y= \(Self.keyA)
            |1|HojEkYa63SOy/dUMou1wdgmYPVk=|OfgrsUApIaQ0ghkOiJThBtkU4X4= \(Self.keyB)
            |1|not base64|x \(Self.keyB)
            """
        let found = KnownHostsFile.entries(in: text, for: ["10.231.1.5", "[10.231.1.6]:2222", "10.231.1.6", "10.231.1.50"])
        #expect(found["10.231.1.5"] == ["10.231.1.5 \(Self.keyA)"])
        #expect(found["[10.231.1.6]:2222"] == ["[10.231.1.6]:2222 \(Self.keyB)"])
        #expect(found["10.231.1.6"] == nil)
        #expect(found["10.231.1.50"] == nil)
    }

    @Test func fingerprintsAreSHA256AsOpenSSHPrintsThem() {
        let fp = "SHA256:PboQ4kp5XDJHSsAx1drGmjTIIksM+ouViQnx4KAKcis"
        #expect(HostKeyFingerprint.normalized(fp) == fp)
        #expect(HostKeyFingerprint.normalized(fp + "=") == fp)
        for bad in [
            "MD5:12:34", "PboQ4kp5XDJHSsAx1drGmjTIIksM+ouViQnx4KAKcis", "SHA256:short",
            "SHA256:PboQ4kp5XDJHSsAx1drGmjTIIksM+ouViQnx4KAKci$", "",
        ] {
            #expect(HostKeyFingerprint.normalized(bad) == nil, "\(bad)")
        }
    }

    @Test func fleetFilesTakeTheExpectedHostKey() throws {
        let file = try FleetFile.parse(
            """
            defaults: {ssh-known-hosts: /etc/fleet/known_hosts, ssh-host-key: strict}
            machines:
              - {name: a, address: 10.231.1.5}
              - {name: b, address: 10.231.1.6, ssh-host-key: accept-new, ssh-host-key-fingerprints: ["SHA256:PboQ4kp5XDJHSsAx1drGmjTIIksM+ouViQnx4KAKcis"]}
            """, source: "t.yml")
        let r = try file.requests(environment: [:])
        #expect(r[0].hostKeyPolicy == .strict && r[0].knownHostsFile == "/etc/fleet/known_hosts" && r[0].hostKeyFingerprints.isEmpty)
        #expect(r[1].hostKeyPolicy == .acceptNew && r[1].hostKeyFingerprints == ["SHA256:PboQ4kp5XDJHSsAx1drGmjTIIksM+ouViQnx4KAKcis"])
        let bad = try FleetFile.parse("machines: [{name: c, address: 10.231.1.9, ssh-host-key: yes}]", source: "t.yml")
        #expect(throws: FleetFile.Invalid(description: "machine \"c\": ssh-host-key \"yes\": expected strict or accept-new")) {
            try bad.requests(environment: [:])
        }
    }
}
