import Testing

@testable import SwockEngine

struct EngineBundleTests {
    let bundle = EngineBundle(
        path: "/b",
        packages: [
            .init(file: "docker.io_1_amd64.deb", architecture: "amd64"),
            .init(file: "tini_1_all.deb", architecture: "all"),
        ])

    @Test func fitsADebianHostOfItsArchitecture() throws {
        try bundle.check(family: .debian, machine: "x86_64")
    }

    @Test func refusesAnotherArchitectureOrFamilyNamingWhy() {
        do { try bundle.check(family: .debian, machine: "aarch64"); Issue.record("accepted arm64") } catch {
            #expect("\(error)" == "bundle /b: docker.io_1_amd64.deb is for amd64, the host is arm64; give a bundle built for arm64")
        }
        do { try bundle.check(family: .rhel, machine: "x86_64"); Issue.record("accepted rhel") } catch {
            #expect("\(error)".contains("the host is not of the Debian family (rhel)"), "\(error)")
        }
    }

    @Test func unameNamesBecomeDebianArchitectures() {
        #expect(EngineBundle.debianArchitecture("x86_64") == "amd64")
        #expect(EngineBundle.debianArchitecture("aarch64") == "arm64")
        #expect(EngineBundle.debianArchitecture("armv7l") == "armhf")
    }

    @Test func thePlanPrefersTheBundleUnlessDockerdIsThere() throws {
        #expect(
            try EngineInstallPlan.plan(release: nil, family: .debian, dockerdPresent: false, method: .auto, installURL: nil, bundle: bundle)
                == .bundle(bundle))
        #expect(
            try EngineInstallPlan.plan(release: nil, family: .debian, dockerdPresent: true, method: .auto, installURL: nil, bundle: bundle)
                == .alreadyInstalled)
    }

    @Test func staticBinariesFitByDockerdsMachineAndInitSystem() throws {
        let tgz = EngineBundle(path: "/docker-27.tgz", staticBinaries: .init(binaries: ["docker", "dockerd"], machine: "x86_64"))
        try tgz.check(family: .rhel, machine: "x86_64", initSystem: .systemd)
        try tgz.check(family: nil, machine: "x86_64", initSystem: .none)
        do { try tgz.check(family: .debian, machine: "aarch64"); Issue.record("accepted aarch64") } catch {
            #expect(
                "\(error)"
                    == "bundle /docker-27.tgz: its dockerd is built for x86_64, the host is aarch64; give the static binaries for aarch64")
        }
        do { try tgz.check(family: .alpine, machine: "x86_64", initSystem: .openrc); Issue.record("accepted openrc") } catch {
            #expect("\(error)".contains("bring no openrc service"), "\(error)")
        }
        #expect(tgz.summary == "the static binaries /docker-27.tgz (2 binaries, no repository)")
    }

    @Test func elfHeadersNameTheirMachine() {
        func header(_ m: UInt16) -> [UInt8] {
            [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1] + [UInt8](repeating: 0, count: 11) + [UInt8(m & 0xff), UInt8(m >> 8)]
        }
        #expect(EngineBundle.elfMachine(header(62)) == "x86_64")
        #expect(EngineBundle.elfMachine(header(183)) == "aarch64")
        #expect(EngineBundle.elfMachine(Array("#!/bin/sh\necho hi there".utf8)) == nil)
        #expect(EngineBundle.elfMachine([0x7f, 0x45]) == nil)
    }

    @Test func theStaticServiceIsASystemdUnitOnlyWhereThereIsNone() throws {
        let sh = Scripts.engineBundle.text
        let install = try #require(sh.range(of: "static-install)"))
        let unit = String(sh[install.upperBound...])
        #expect(
            unit.contains("if [ \"$2\" = systemd ]; then\n    if ! systemctl cat docker.service"),
            "the unit only on systemd, only where there is none")
        #expect(unit.contains("ExecStart=/usr/local/bin/dockerd -H unix:///var/run/docker.sock"))
        #expect(unit.contains("ExecReload=/bin/kill -s HUP $MAINPID"), "the unit's own $MAINPID, not the shell's (a quoted here-document)")
        #expect(unit.contains("    systemctl daemon-reload\n  fi"))
        #expect(InitSystem.systemd.runsStaticDockerd && InitSystem.none.runsStaticDockerd)
        #expect(!InitSystem.openrc.runsStaticDockerd && !InitSystem.sysvinit.runsStaticDockerd)
    }
}
