import Foundation
import Testing

@testable import EngineAPI

@Suite struct EngineModelsTests {
    @Test func decodesVersion() throws {
        let json =
            #"{"Platform":{"Name":""},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0-18-amd64","BuildTime":"2023-05-18T08:38:34.000000000+00:00"}"#
        let v = try JSONDecoder().decode(EngineVersion.self, from: Data(json.utf8))
        #expect(
            v
                == EngineVersion(
                    version: "20.10.24+dfsg1", apiVersion: "1.41", minAPIVersion: "1.12", os: "linux",
                    arch: "amd64", kernelVersion: "6.1.0-18-amd64", gitCommit: "5d6db84", goVersion: "go1.19.8"))
    }

    @Test func decodesInfoWithNullLabels() throws {
        let json =
            #"{"ID":"X","Containers":3,"ContainersRunning":1,"ContainersPaused":0,"ContainersStopped":2,"Images":4,"Driver":"overlay2","NCPU":2,"MemTotal":25000000000,"Name":"h1","Labels":null,"ServerVersion":"20.10.24+dfsg1","OSType":"linux","Architecture":"x86_64","OperatingSystem":"Debian GNU/Linux 12 (bookworm)"}"#
        let i = try JSONDecoder().decode(EngineInfo.self, from: Data(json.utf8))
        #expect(i.name == "h1")
        #expect(i.containers == 3 && i.containersRunning == 1 && i.containersStopped == 2 && i.images == 4)
        #expect(i.labels == [])
        #expect(i.memTotal == 25_000_000_000)
        #expect(i.operatingSystem == "Debian GNU/Linux 12 (bookworm)")
    }

    @Test func decodesContainers() throws {
        let json =
            #"[{"Id":"abc","Names":["/web"],"Image":"busybox:local","ImageID":"sha256:1","Command":"sleep 1000","Created":1700000000,"State":"running","Status":"Up 2 minutes","Labels":{"a":"b"}},{"Id":"def","Names":["/old"],"Image":"busybox:local","State":"exited","Status":"Exited (0) 1 hour ago","Labels":null}]"#
        let c = try JSONDecoder().decode([ContainerSummary].self, from: Data(json.utf8))
        #expect(
            c == [
                ContainerSummary(
                    id: "abc", names: ["/web"], image: "busybox:local", state: "running", status: "Up 2 minutes",
                    created: 1_700_000_000, labels: ["a": "b"]),
                ContainerSummary(id: "def", names: ["/old"], image: "busybox:local", state: "exited", status: "Exited (0) 1 hour ago"),
            ])
    }

    @Test func roundTripsThroughCodable() throws {
        let v = EngineVersion(version: "29.0.0", apiVersion: "1.51", minAPIVersion: "1.44")
        #expect(try JSONDecoder().decode(EngineVersion.self, from: JSONEncoder().encode(v)) == v)
    }
}

struct PingServerHeaderTests {
    @Test(
        arguments: [
            ("Docker/20.10.24+dfsg1 (linux)", "20.10.24+dfsg1"),
            ("Docker/26.1.5+dfsg1 (linux)", "26.1.5+dfsg1"),
            ("Docker/29.0.0", "29.0.0"),
            ("Docker/ (linux)", nil),
            ("Docker/dev (linux)", nil),
            ("Libpod/5.0 (linux)", nil),
            ("nginx/1.25", nil),
            ("", nil),
        ] as [(String, String?)])
    func engineVersionComesFromDockersServerHeader(header: String, version: String?) {
        #expect(Ping.engineVersion(fromServerHeader: header) == version)
    }

    @Test func noHeaderNoVersion() {
        #expect(Ping.engineVersion(fromServerHeader: nil) == nil)
    }
}
