import Testing
@testable import SwockCore

struct EngineBundleTests {
    let bundle = EngineBundle(path: "/b", packages: [.init(file: "docker.io_1_amd64.deb", architecture: "amd64"),
                                                     .init(file: "tini_1_all.deb", architecture: "all")])

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
        #expect(try EngineInstallPlan.plan(release: nil, family: .debian, dockerdPresent: false, method: .auto, installURL: nil, bundle: bundle) == .bundle(bundle))
        #expect(try EngineInstallPlan.plan(release: nil, family: .debian, dockerdPresent: true, method: .auto, installURL: nil, bundle: bundle) == .alreadyInstalled)
    }
}
