import Foundation
import SSHKit
import SwockFleet
import SwockRemote
import SwockStore
import Testing

@testable import SwockClient
@testable import SwockDrivers
@testable import SwockEngine
@testable import SwockProvision

/// A driver that owns its host, scripted: records what it was asked, fails where told. The
/// wiring (create, lifecycle, status, rm) is tested against it; the real drivers on real hosts
/// in IntegrationTests (NoneDriverTests; qemu and plugins in theirs).
final class FakeDriver: MachineDriver, @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [String] = []
    var calls: [String] { lock.lock(); defer { lock.unlock() }; return _calls }
    func record(_ c: String) { lock.lock(); _calls.append(c); lock.unlock() }

    var failing: Set<String> = []
    /// create fails as a plugin that crashed in Create does: the host may exist.
    var interruptCreate = false
    var powerState: DriverState = .running
    var access = DriverSSHAccess(host: "127.0.0.1", port: 2222, user: "debian", keyPath: nil)
    struct Failed: Error, CustomStringConvertible { var op: String; var description: String { "scripted \(op) failure" } }

    func step(_ op: String) throws {
        record(op)
        if failing.contains(op) { throw Failed(op: op) }
    }

    var name: String { "fake" }
    var hostOwnership: HostOwnership { .owned }
    func preCreateCheck() async throws { try step("preCreateCheck") }
    func create() async throws -> CreatedHost {
        if interruptCreate {
            record("create")
            throw CreateInterrupted(
                driver: name, options: DriverOptions(.object(["vm": .string("half-made")])), underlying: Failed(op: "create"))
        }
        try step("create")
        return CreatedHost(
            address: access.host, ssh: access, engineHostPort: 1, options: DriverOptions(.object(["vm": .string("fake-vm-1")])))
    }
    func remove() async throws { try step("remove") }
    func start() async throws { try step("start") }
    func stop() async throws { try step("stop") }
    func restart() async throws { try step("restart") }
    func kill() async throws { try step("kill") }
    func state() async throws -> DriverState { try step("state"); return powerState }
    func sshAccess() async throws -> DriverSSHAccess? { access }
    func dockerURL() async throws -> String? { nil }
    func options() -> DriverOptions { DriverOptions(.object(["vm": .string("fake-vm-1")])) }
}

struct FakeKind: DriverKind {
    let driver: FakeDriver
    var name: String { "fake" }
    var summary: String { "a scripted driver" }
    func createFlags() async throws -> [DriverFlag] { [DriverFlag(name: "fake-cpus", usage: "CPUs", kind: .int, defaultValue: .int(1))] }
    func driverForCreate(machine: String, flags: DriverFlagValues, store: Store) async throws -> any MachineDriver { driver }
    func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver { driver }
}

enum DriverFixtures {
    static func registry(_ d: FakeDriver) -> DriverRegistry { DriverRegistry(kinds: [GenericKind(), NoneKind(), FakeKind(driver: d)]) }

    /// A ready record of the fake driver (or another), written as create would.
    static func record(_ store: Store, _ name: String, driver: String = "fake", address: String = "127.0.0.1") throws -> MachineConfig {
        var c = MachineConfig(
            name: name, driver: driver, address: address,
            ssh: SSHSettings(
                user: "root", port: 1, authMode: .agentOrDefaultKeys, keyPath: nil, knownHostsPath: Store.knownHostsPath(name)),
            engine: EngineSettings(port: 1), tls: TLSSettings(keyType: "ecdsa"))
        c.driverOptions = DriverOptions(.object(["vm": .string("fake-vm-1")]))
        c.provisioning.phase = .ready
        try store.reserve(c)
        return c
    }
}

@Suite struct DriverFlagParserTests {
    let flags = [
        DriverFlag(name: "qemu-cpus", usage: "CPUs", envVar: "QEMU_CPUS", kind: .int, defaultValue: .int(2)),
        DriverFlag(name: "qemu-image", usage: "image", kind: .string),
        DriverFlag(name: "qemu-kvm", usage: "use KVM", kind: .bool),
        DriverFlag(name: "qemu-port", usage: "forward", kind: .stringSlice),
    ]

    @Test func valuesFromFlagsTheirVariablesAndDefaultsInThatOrder() throws {
        let (v, operands) = try DriverFlagParser.parse(
            ["--qemu-image", "/i.qcow2", "vm1", "--qemu-kvm", "--qemu-port=80", "--qemu-port", "443"],
            flags: flags, driver: "qemu", environment: [:])
        #expect(operands == ["vm1"])
        #expect(v.string("qemu-image") == "/i.qcow2" && v.bool("qemu-kvm") && v.strings("qemu-port") == ["80", "443"])
        #expect(v.int("qemu-cpus") == 2 && v.given == ["qemu-image", "qemu-kvm", "qemu-port"])
        let env = try DriverFlagParser.parse(["vm1"], flags: flags, driver: "qemu", environment: ["QEMU_CPUS": "4"]).values
        #expect(env.int("qemu-cpus") == 4)
        let flag = try DriverFlagParser.parse(["--qemu-cpus=8", "vm1"], flags: flags, driver: "qemu", environment: ["QEMU_CPUS": "4"])
            .values
        #expect(flag.int("qemu-cpus") == 8)
        #expect(try DriverFlagParser.parse(["--", "--odd"], flags: flags, driver: "qemu", environment: [:]).operands == ["--odd"])
    }

    @Test func anotherDriversFlagIsRefusedWithThisDriversFlags() {
        #expect(
            throws: DriverError.unknownFlag(
                driver: "qemu", flag: "--url", known: ["--qemu-cpus", "--qemu-image", "--qemu-kvm", "--qemu-port"])
        ) {
            try DriverFlagParser.parse(["--url", "tcp://x:1", "vm1"], flags: flags, driver: "qemu", environment: [:])
        }
        let text = "\(DriverError.unknownFlag(driver: "qemu", flag: "--url", known: ["--qemu-cpus"]))"
        // The pointer to `create -d qemu --help` is SwockCommands' advice (ErrorReportTests).
        #expect(text == "--url is not a flag of the qemu driver; its flags are: --qemu-cpus")
    }

    @Test func badValuesAreRefusedNamingTheFlagOrVariable() {
        #expect(throws: DriverError.badFlagValue(driver: "qemu", flag: "--qemu-cpus", value: "two", expected: "a whole number")) {
            try DriverFlagParser.parse(["--qemu-cpus", "two", "vm1"], flags: flags, driver: "qemu", environment: [:])
        }
        #expect(throws: DriverError.badFlagValue(driver: "qemu", flag: "QEMU_CPUS", value: "x", expected: "a whole number")) {
            try DriverFlagParser.parse(["vm1"], flags: flags, driver: "qemu", environment: ["QEMU_CPUS": "x"])
        }
        #expect(throws: DriverError.flagNeedsValue(driver: "qemu", flag: "--qemu-image")) {
            try DriverFlagParser.parse(["vm1", "--qemu-image"], flags: flags, driver: "qemu", environment: [:])
        }
    }

    @Test func helpListsEachFlagWithItsKindVariableAndDefault() {
        let text = DriverFlagParser.help(flags)
        #expect(text.contains("--qemu-cpus <int>") && text.contains("(env: QEMU_CPUS; default: 2)"))
        #expect(text.contains("--qemu-port <string> (repeatable)") && text.contains("--qemu-kvm "))
    }
}

@Suite struct DriverCreationTests {
    @Test func provisionsOverTheDriversSSHAccessAndKeepsDriverAndOptionsInTheRecord() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        let seen = RequestBox()
        var p = Scripted.provisioner(store, [Scripted.debianHost()])
        p.connectNew = { req, _ in
            seen.set(req); return Scripted.debianHost()
        }
        // The scripted daemon never answers: wait-engine fails; the driver's host stays, with its
        // record failed there, as a generic create's does (provision resumes, rm removes it).
        let e = try await #require(throws: ProvisionError.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm1", address: ""), driver: fake)
        }
        #expect(e.step == .waitEngine && e.resumable)
        let req = try #require(seen.value)
        #expect(req.address == "127.0.0.1" && req.sshPort == 2222 && req.sshUser == "debian" && req.engine.port == 1)
        #expect(req.driver == "fake" && req.driverOptions == DriverOptions(.object(["vm": .string("fake-vm-1")])))
        #expect(fake.calls == ["preCreateCheck", "create"])
        let record = try store.load("vm1")
        #expect(record.driver == "fake" && record.provisioning.phase == .failed && record.provisioning.failedStep == .waitEngine)
    }

    @Test func aHostThatFailsTheChecksBeforeTheRecordKeepsAFailedRecordNotAnOrphan() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        var p = Scripted.provisioner(store, [])
        p.connectNew = { _, _ in throw FakeDriver.Failed(op: "ssh") }
        let e = try await #require(throws: ProvisionError.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm1", address: ""), driver: fake)
        }
        #expect(e.step == .connect && e.resumable)
        let record = try store.load("vm1")
        #expect(record.address == "127.0.0.1" && record.ssh.port == 2222 && record.provisioning.failedStep == .connect)
        #expect(record.driverOptions == DriverOptions(.object(["vm": .string("fake-vm-1")])))
        #expect(fake.calls == ["preCreateCheck", "create"])
    }

    /// A plugin that crashed or hung in its Create (the driver says so with CreateInterrupted):
    /// the record is kept, unfinished at create-host, with what the driver knew; ls says so
    /// without asking the driver; provision creates the host again and goes on; rm has the
    /// driver remove it, rm -f drops the record whatever the driver says.
    @Test func aCreateInterruptedAfterTheDriverMayHaveMadeTheHostKeepsAnUnfinishedRecord() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        fake.interruptCreate = true
        let p = Scripted.provisioner(store, [])
        let e = try await #require(throws: HostUnfinished.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm1", address: ""), driver: fake)
        }
        #expect(e.machine == "vm1" && e.operation == "create" && e.underlying is FakeDriver.Failed)
        #expect(
            e.description
                == "create vm1: scripted create failure; the fake driver may have made the host, so the record is kept as unfinished")
        #expect(fake.calls == ["preCreateCheck", "create"])
        let record = try store.load("vm1")
        #expect(record.driver == "fake" && record.address == "")
        #expect(record.provisioning.phase == .failed && record.provisioning.failedStep == .createHost)
        #expect(record.provisioning.lastError == "create-host: scripted create failure")
        #expect(record.driverOptions == DriverOptions(.object(["vm": .string("half-made")])))
        let status = await MachineStatus.probe(record, store: store, timeout: .seconds(5), drivers: DriverFixtures.registry(fake))
        #expect(status.state == .error && fake.calls == ["preCreateCheck", "create"])
    }

    @Test func provisionOfAnUnfinishedRecordCreatesTheHostAgainThenProvisions() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        fake.interruptCreate = true
        var p = Scripted.provisioner(store, [Scripted.debianHost()])
        p.drivers = DriverFixtures.registry(fake)
        var req = CreateRequest(name: "vm1", address: "")
        req.engine.port = 1
        await #expect(throws: HostUnfinished.self) { try await DriverCreation(provisioner: p).create(req, driver: fake) }
        // Still failing: the record stays unfinished, with the driver's latest settings.
        let again = try await #require(throws: HostUnfinished.self) { try await p.provision("vm1") }
        #expect(again.operation == "provision")
        #expect(try store.load("vm1").provisioning.failedStep == .createHost)
        #expect(fake.calls == ["preCreateCheck", "create", "create"])
        // Working now: the host is made, the record takes its address and SSH access, and
        // provisioning runs on it (the scripted daemon never answers: it stops at wait-engine).
        fake.interruptCreate = false
        let e = try await #require(throws: ProvisionError.self) { try await p.provision("vm1") }
        #expect(e.step == .waitEngine && e.operation == "provision")
        #expect(fake.calls == ["preCreateCheck", "create", "create", "create"])
        let record = try store.load("vm1")
        #expect(record.address == "127.0.0.1" && record.ssh.port == 2222 && record.ssh.user == "debian" && record.engine.port == 1)
        #expect(record.driverOptions == DriverOptions(.object(["vm": .string("fake-vm-1")])))
        #expect(record.provisioning.failedStep == .waitEngine && record.provisioning.isDone(.createHost))
    }

    @Test func rmOfAnUnfinishedRecordAsksTheDriverAndRmForceDropsItWhenTheDriverFails() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        fake.interruptCreate = true
        let p = Scripted.provisioner(store, [])
        await #expect(throws: HostUnfinished.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm1", address: ""), driver: fake)
        }
        fake.failing = ["remove"]
        var r = Remover(store: store)
        r.drivers = DriverFixtures.registry(fake)
        await #expect(throws: Remover.DriverRemovalFailed.self) { try await r.remove("vm1", force: false) }
        #expect(store.exists("vm1"))
        let warning = try #require(try await r.remove("vm1", force: true))
        #expect(
            warning.hasPrefix("the fake driver did not remove the host it may have made (scripted remove failure); it may still exist")
                && warning.contains("half-made"), "\(warning)")
        #expect(!store.exists("vm1") && fake.calls == ["preCreateCheck", "create", "remove", "remove"])
        // Working: rm alone removes it through the driver.
        fake.failing = []
        await #expect(throws: HostUnfinished.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm2", address: ""), driver: fake)
        }
        #expect(try await r.remove("vm2", force: false) == nil)
        #expect(!store.exists("vm2") && fake.calls.last == "remove")
    }

    @Test func theRecordOfADriversMachineNamesTheDriverAndKeepsItsOptions() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let p = Scripted.provisioner(store, [Scripted.debianHost()])
        var r = Scripted.request("vm2")
        r.driver = "fake"
        r.driverOptions = DriverOptions(.object(["vm": .string("fake-vm-2"), "cpus": .int(2)]))
        _ = await #expect(throws: ProvisionError.self) { try await p.create(r) }
        let record = try store.load("vm2")  // a plain create keeps its failed record for provision
        #expect(record.driver == "fake" && record.driverOptions == r.driverOptions)
        let text = String(
            decoding: try #require(FileManager.default.contents(atPath: store.machineDir("vm2") + "/config.json")), as: UTF8.self)
        #expect(text.contains("\"driverOptions\"") && text.contains("fake-vm-2"))
    }

    @Test func aFailedPreCreateCheckMakesNothing() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        fake.failing = ["preCreateCheck"]
        let p = Scripted.provisioner(store, [])
        await #expect(throws: FakeDriver.Failed.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm1", address: ""), driver: fake)
        }
        #expect(fake.calls == ["preCreateCheck"])
        #expect(!store.exists("vm1"))
    }

    /// A create that made nothing, or took back what it made (qemu's VM that never came up).
    @Test func aDriverCreateThatLeftNothingWritesNothing() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let fake = FakeDriver()
        fake.failing = ["create"]
        let p = Scripted.provisioner(store, [])
        await #expect(throws: FakeDriver.Failed.self) {
            try await DriverCreation(provisioner: p).create(CreateRequest(name: "vm1", address: ""), driver: fake)
        }
        #expect(fake.calls == ["preCreateCheck", "create"])
        #expect(!store.exists("vm1") && store.names().isEmpty)
    }

    final class RequestBox: @unchecked Sendable {
        private let lock = NSLock()
        private var _value: CreateRequest?
        var value: CreateRequest? { lock.lock(); defer { lock.unlock() }; return _value }
        func set(_ r: CreateRequest) { lock.lock(); _value = r; lock.unlock() }
    }
}

@Suite struct DriverLifecycleTests {
    func lifecycle(_ store: Store, host: ScriptedHost? = nil) -> EngineLifecycle {
        var l = EngineLifecycle(store: store)
        l.engineWait = .milliseconds(300)
        let h = host
        l.connectRecord = { _ in
            guard let h else { throw FakeDriver.Failed(op: "ssh") }
            return h
        }
        return l
    }

    @Test func stopAndKillOfAnOwnedHostPowerItThroughTheDriverWithoutSSH() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try DriverFixtures.record(store, "vm1")
        let fake = FakeDriver()
        let reg = DriverFixtures.registry(fake)
        let s = try await FleetLifecycle.perform(.stop, on: "vm1", lifecycle: lifecycle(store), drivers: reg)
        #expect(s == "host stopped (fake)")
        _ = try await FleetLifecycle.perform(.kill, on: "vm1", lifecycle: lifecycle(store), drivers: reg)
        #expect(fake.calls == ["stop", "kill"])
    }

    @Test func startOfAnOwnedHostWaitsForTheEngineAfterTheDriverStartsIt() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try DriverFixtures.record(store, "vm1")
        let fake = FakeDriver()
        // Nothing answers on port 1: the wait fails, after the driver's start.
        await #expect(throws: EngineReadiness.EngineNotAnswering.self) {
            try await FleetLifecycle.perform(.start, on: "vm1", lifecycle: lifecycle(store), drivers: DriverFixtures.registry(fake))
        }
        #expect(fake.calls == ["start"])
    }

    @Test func genericMachinesKeepActingOnTheEngineOverSSH() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try DriverFixtures.record(store, "g1", driver: "generic")
        let fake = FakeDriver()
        let host = ScriptedHost().on(containing: "systemctl", .ok)
        let s = try await FleetLifecycle.perform(
            .stop, on: "g1", lifecycle: lifecycle(store, host: host), drivers: DriverFixtures.registry(fake))
        #expect(s == "engine stopped")
        #expect(fake.calls.isEmpty && host.ran.contains { $0.text.contains("systemctl") && $0.asRoot })
    }

    @Test func statusOfAStoppedOwnedHostComesFromTheDriverAtOnce() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        // An address nothing answers at: without the driver's state this would be a timeout.
        let c = try DriverFixtures.record(store, "vm1", address: "10.231.255.254")
        let fake = FakeDriver()
        fake.powerState = .stopped
        let s = await MachineStatus.probe(c, store: store, timeout: .seconds(30), drivers: DriverFixtures.registry(fake))
        #expect(s.state == .stopped && fake.calls == ["state"])
    }

    @Test func rmRemovesAnOwnedHostThroughItsDriverThenTheRecord() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try DriverFixtures.record(store, "vm1")
        let fake = FakeDriver()
        var r = Remover(store: store)
        r.drivers = DriverFixtures.registry(fake)
        r.connectRecord = { _ in throw FakeDriver.Failed(op: "ssh") }
        #expect(try await r.remove("vm1", force: false) == nil)
        #expect(fake.calls == ["remove"] && !store.exists("vm1"))
    }

    @Test func rmKeepsTheRecordWhenTheDriverFailsAndRmForceDropsItSayingWhatWasLeft() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try DriverFixtures.record(store, "vm1")
        let fake = FakeDriver()
        fake.failing = ["remove"]
        var r = Remover(store: store)
        r.drivers = DriverFixtures.registry(fake)
        let e = try await #require(throws: Remover.DriverRemovalFailed.self) { try await r.remove("vm1", force: false) }
        #expect(e.description.contains("the fake driver could not remove the host: scripted remove failure; the record is kept"))
        #expect(store.exists("vm1"))
        let warning = try #require(try await r.remove("vm1", force: true))
        #expect(
            warning.contains("the fake driver did not remove the host at 127.0.0.1 (scripted remove failure)")
                && warning.contains("fake-vm-1"), "\(warning)")
        #expect(!store.exists("vm1"))
    }
}

@Suite struct NoneDriverUnitTests {
    @Test func urlsOtherThanTcpAreRefusedAndHostPortAreRead() throws {
        #expect(try NoneDriver.parseURL("tcp://10.231.1.5:2376") == ("10.231.1.5", 2376))
        #expect(try NoneDriver.parseURL("tcp://[fd00::5]:2377") == ("fd00::5", 2377))
        #expect(try NoneDriver.parseURL("tcp://docker.lan") == ("docker.lan", 2376))
        for bad in ["http://10.231.1.5:2376", "unix:///var/run/docker.sock", "tcp://:2376", "tcp://h:0", "tcp://h:x", "tcp://a b:1"] {
            #expect(throws: DriverError.self, "\(bad)") { try NoneDriver.parseURL(bad) }
        }
    }

    @Test func theThreeTLSFilesGoTogether() async throws {
        let kind = NoneKind()
        let store = Store(root: "/nonexistent-swock-store")
        var v = DriverFlagValues(values: ["url": .string("tcp://h:1"), "tls-ca-cert": .string("/ca.pem")])
        await #expect(
            throws: DriverError.missingFlag(
                driver: "none", flag: "--tls-client-cert and --tls-client-key", why: "the three TLS files go together")
        ) {
            try await kind.driverForCreate(machine: "x", flags: v, store: store)
        }
        v.values = [:]
        await #expect(throws: DriverError.missingFlag(driver: "none", flag: "--url", why: "the daemon's URL, tcp://HOST:PORT")) {
            try await kind.driverForCreate(machine: "x", flags: v, store: store)
        }
    }

    /// The files a host without SSH came with, read for its directory; one that cannot be read
    /// is named by the none driver's flag that gave it.
    @Test func theTLSFilesAreReadOrNamedByTheirFlag() throws {
        let dir = try TempDir("tlsfiles")
        defer { dir.remove() }
        for f in ["ca", "cert", "key"] { try Data("\(f)\n".utf8).write(to: URL(fileURLWithPath: dir.sub("\(f).pem"))) }
        let given = DriverTLSFiles(caCert: dir.sub("ca.pem"), clientCert: dir.sub("cert.pem"), clientKey: dir.sub("key.pem"))
        #expect(
            try given.contents(driver: "none") == [
                "ca.pem": Data("ca\n".utf8), "cert.pem": Data("cert\n".utf8), "key.pem": Data("key\n".utf8),
            ])
        var missing = given
        missing.clientKey = dir.sub("nope.pem")
        #expect(
            throws: DriverError.unreadableFile(
                driver: "none", flag: "--tls-client-key", path: dir.sub("nope.pem"), detail: "cannot read it")
        ) { try missing.contents(driver: "none") }
    }

    @Test func aMachineWithoutSSHIsRefusedByEverythingThatNeedsIt() async throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let before = try DriverFixtures.record(store, "ext1", driver: "none")
        await #expect(throws: NoSSH(machine: "ext1", driver: "none")) { _ = try await MachineSSH(store: store).connect(before) }
        // provision refuses before touching the record (it stays ready).
        let p = Scripted.provisioner(store, [])
        await #expect(throws: NoSSH(machine: "ext1", driver: "none")) { _ = try await p.provision("ext1") }
        #expect(try store.load("ext1").provisioning.phase == .ready)
        await #expect(throws: NoSSH(machine: "ext1", driver: "none")) {
            _ = try await FleetLifecycle.perform(.restart, on: "ext1", lifecycle: EngineLifecycle(store: store), drivers: .standard)
        }
        #expect("\(NoSSH(machine: "ext1", driver: "none"))".split(separator: "\n").count == 1)
        // rm: nothing was put on the host; the record goes.
        #expect(try await Remover(store: store).remove("ext1", force: false) == nil)
        #expect(!store.exists("ext1"))
    }
}

@Suite struct DriverRecordTests {
    /// A config.json as swock-machine wrote it before drivers kept options (no driverOptions key).
    static let oldRecord = """
        {"configVersion":1,"name":"old1","driver":"generic","address":"10.231.1.20",
         "ssh":{"user":"root","port":22,"authMode":"agent","knownHostsPath":"machines/old1/known_hosts"},
         "engine":{"port":2376,"options":[],"labels":[],"environment":[],"registryMirrors":[],"insecureRegistries":[],"install":"auto","version":"26.1.5+dfsg1","dockerdPath":"/usr/sbin/dockerd"},
         "tls":{"keyType":"ecdsa","serverSANs":["10.231.1.20"],"extraSANs":[]},
         "labels":{},
         "host":{"osID":"debian","osVersion":"12","idLike":[],"family":"debian","hostname":"h1","initSystem":"systemd","architecture":"x86_64"},
         "provisioning":{"phase":"ready","stepsDone":[]},
         "createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z"}
        """

    @Test func recordsWrittenBeforeDriversLoadUnchangedAsGeneric() throws {
        let dir = try TempDir("drivers")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.ensureLayout()
        try FileManager.default.createDirectory(atPath: store.machineDir("old1"), withIntermediateDirectories: true)
        try Data(Self.oldRecord.utf8).write(to: URL(fileURLWithPath: store.machineDir("old1") + "/config.json"))
        let c = try store.load("old1")
        #expect(c.driver == "generic" && c.driverOptions == nil && c.hasSSH && c.address == "10.231.1.20")
        let d = try DriverRegistry.standard.resolve(c, store: store)
        #expect(d.name == "generic" && d.hostOwnership == .external)
    }

    @Test func fleetFilesTakeADriverAndItsOptions() throws {
        let file = try FleetFile.parse(
            """
            defaults: {driver: none, driver-options: {tls-ca-cert: ca.pem, tls-client-cert: cert.pem, tls-client-key: key.pem}}
            machines:
              - {name: ext1, driver-options: {url: "tcp://10.231.1.5:2376"}}
              - {name: web1, driver: generic, address: 10.231.1.6}
            """, source: "f.yaml")
        let r = try file.requests(environment: [:])
        #expect(
            r[0].driver == "none"
                && r[0].driverFlagWords == [
                    "--tls-ca-cert=ca.pem", "--tls-client-cert=cert.pem", "--tls-client-key=key.pem", "--url=tcp://10.231.1.5:2376",
                ])
        #expect(r[1].driver == "generic" && r[1].address == "10.231.1.6" && r[1].driverFlagWords.isEmpty)
        let parsed = try DriverFlagParser.parse(r[0].driverFlagWords, flags: NoneKind.flags, driver: "none", environment: [:]).values
        #expect(parsed.string("url") == "tcp://10.231.1.5:2376")
        #expect(throws: FleetFile.Invalid.self) {
            try FleetFile.parse("machines:\n  - {name: g1}\n", source: "f.yaml")
        }
    }
}
