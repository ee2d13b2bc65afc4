import FleetSupport
import Foundation
import GoRPC
import SwockStore
import Testing

@testable import SwockDrivers

/// PluginDriver against a plugin written in Go with the standard library only
/// (Tests/Fixtures/plugin), built here with apt's golang-go. Its Create takes an address it is
/// given, so these tests need no fleet host (the end-to-end ones in IntegrationTests use one).
@Suite(.serialized) struct PluginDriverTests {
    let binDir: String
    let binary: String
    let store: Store
    let storeDir: String

    init() throws {
        binDir = try GoFixture.pluginDirectory()
        binary = binDir + "/docker-machine-driver-fixture"
        storeDir = NSTemporaryDirectory() + "p-plugin-store-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: storeDir + "/machines", withIntermediateDirectories: true)
        store = Store(root: storeDir)
    }

    /// Processes of this test process's fixture binary still running.
    func pluginsRunning() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { e in
            guard let pid = Int32(e), let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(e)/exe") else {
                return nil
            }
            return exe == binary ? pid : nil
        }
    }

    func declared() async throws -> [PluginFlag] {
        try await PluginDriver.createFlags(plugin: "fixture", binary: binary)
    }

    func creating(_ machine: String, _ given: [String: PluginFlagValue], timeouts: PluginTimeouts = PluginTimeouts()) async throws
        -> PluginDriver
    {
        let values = try PluginDriver.values(plugin: "fixture", given: given, declared: try await declared())
        return PluginDriver(creating: machine, plugin: "fixture", binary: binary, store: store, flagValues: values, timeouts: timeouts)
    }

    @Test func flagsAreThePluginsOwn() async throws {
        let flags = try await declared()
        #expect(
            flags.map(\.name) == [
                "fixture-host", "fixture-ssh-user", "fixture-ssh-port", "fixture-ssh-key",
                "fixture-fail", "fixture-tag", "fixture-verbose",
            ])
        #expect(
            flags[0]
                == PluginFlag(
                    kind: .string, name: "fixture-host", usage: "address of the existing host Create returns",
                    envVar: "FIXTURE_HOST", defaultValue: .string("")))
        #expect(flags[2].defaultValue == .int(22))
        #expect(
            flags[5]
                == PluginFlag(kind: .stringSlice, name: "fixture-tag", usage: "a tag (repeatable)", defaultValue: .strings(["fixture"])))
        #expect(flags[6].kind == .bool)
        #expect(pluginsRunning().isEmpty)
    }

    @Test func createThenEveryLifecycleCallThroughTheRecord() async throws {
        let driver = try await creating(
            "p-unit",
            [
                "fixture-host": .string("10.231.9.9"), "fixture-ssh-key": .string("/keys/k"),
                "fixture-tag": .strings(["a", "b"]),
            ])
        try await driver.preCreateCheck()
        let host = try await driver.create()
        #expect(host.address == "10.231.9.9")
        #expect(host.ssh == DriverSSHAccess(host: "10.231.9.9", port: 22, user: "root", keyPath: "/keys/k"))
        // libmachine's raw driver JSON, kept as it is.
        guard case .object(let raw) = host.options.value else { Issue.record("options: \(host.options)"); return }
        #expect(raw["MachineName"] == .string("p-unit"))
        #expect(raw["StorePath"] == .string(storeDir + "/plugins"))
        #expect(raw["Tags"] == .array([.string("a"), .string("b")]))
        #expect(pluginsRunning().isEmpty)

        // Later commands: a driver from the record alone.
        var config = MachineConfig(
            name: "p-unit", driver: "fixture", address: host.address,
            ssh: SSHSettings(user: "root", port: 22, authMode: .key, keyPath: "/keys/k", knownHostsPath: "k"),
            engine: EngineSettings(), tls: TLSSettings(keyType: "ecdsa"))
        config.driverOptions = host.options
        let later = try PluginDriver(config: config, store: store, path: binDir + ":/usr/bin")
        #expect(later.hostOwnership == .owned)
        #expect(try await later.state() == .running)
        try await later.stop()
        #expect(try await later.state() == .stopped)
        try await later.start()
        #expect(try await later.state() == .running)
        try await later.kill()
        #expect(try await later.state() == .stopped)
        try await later.restart()
        #expect(try await later.state() == .running)
        #expect(try await later.sshAccess() == host.ssh)
        let d = try await later.describe()
        #expect(d.driverName == "fixture" && d.machineName == "p-unit" && d.ip == "10.231.9.9" && d.url == "tcp://10.231.9.9:2376")
        #expect(FileManager.default.fileExists(atPath: storeDir + "/plugins/machines/p-unit/fixture-state"))
        try await later.remove()
        #expect(!FileManager.default.fileExists(atPath: storeDir + "/plugins/machines/p-unit"))
        #expect(try await later.state() == .none)
        #expect(pluginsRunning().isEmpty)
    }

    @Test func thePluginsOwnErrorIsItsLine() async throws {
        let driver = try await creating("p-noaddr", [:])
        let e = await #expect(throws: PluginError.self) { try await driver.create() }
        guard case .call(_, let method, .server(_, let message), _)? = e else { Issue.record("\(String(describing: e))"); return }
        #expect(method == "SetConfigFromFlags")
        #expect(message == "--fixture-host is required: the address of an existing host")
        #expect(
            e?.description == "the fixture driver failed in SetConfigFromFlags: --fixture-host is required: the address of an existing host"
        )
        // Nothing was made: the plugin's directory for the machine is gone too.
        #expect(!FileManager.default.fileExists(atPath: storeDir + "/plugins/machines/p-noaddr"))
        #expect(pluginsRunning().isEmpty)
    }

    @Test func notOnPathNamesWhatWasLookedUpAndWhere() throws {
        let e = #expect(throws: PluginError.self) { try PluginDriver.locate("nosuch", path: "/nowhere:" + binDir) }
        #expect(e == .notFound(name: "nosuch", binary: "docker-machine-driver-nosuch", searched: ["/nowhere", binDir]))
        #expect(
            e?.description
                == "no driver \"nosuch\": docker-machine-driver-nosuch is not in PATH (searched /nowhere:\(binDir)); install the plugin there or pick a built-in driver"
        )
        #expect(try PluginDriver.locate("fixture", path: "/nowhere:" + binDir) == binary)
    }

    @Test func aFlagThePluginDoesNotDeclareIsRefused() async throws {
        let flags = try await declared()
        let e = #expect(throws: PluginError.self) {
            try PluginDriver.values(plugin: "fixture", given: ["generic-ip-address": .string("x")], declared: flags)
        }
        #expect(e == .unknownFlag(plugin: "fixture", flag: "--generic-ip-address", known: flags.map { "--" + $0.name }.sorted()))
    }

    @Test func anotherAPIVersionIsRefused() async throws {
        let e = await #expect(throws: PluginError.self) {
            _ = try await PluginSession.start(
                plugin: "fixture", binary: binary, timeouts: PluginTimeouts(),
                extraEnvironment: ["FIXTURE_API_VERSION": "2"])
        }
        #expect(e == .incompatibleVersion(binary: binary, version: 2))
        #expect(pluginsRunning().isEmpty)
    }

    /// From the Create call on, the plugin may have made the host: the failure says so
    /// (CreateInterrupted) and carries the configuration the plugin had before Create.
    @Test func aPluginThatCrashesInCreateIsOneLine() async throws {
        let driver = try await creating("p-crash", ["fixture-host": .string("10.231.9.9"), "fixture-fail": .string("crash")])
        let interrupted = await #expect(throws: CreateInterrupted.self) { try await driver.create() }
        let e = interrupted?.underlying as? PluginError
        guard case .call(_, "Create", .closed, let said)? = e else { Issue.record("\(String(describing: interrupted))"); return }
        #expect(said == "fixture: crashing in Create as asked")
        #expect(e?.description == "the fixture driver plugin exited during Create (it said: fixture: crashing in Create as asked)")
        guard case .object(let raw)? = interrupted?.options.value else { Issue.record("\(String(describing: interrupted))"); return }
        #expect(raw["MachineName"] == .string("p-crash") && raw["IPAddress"] == .string("10.231.9.9") && raw["Fail"] == .string("crash"))
        #expect(pluginsRunning().isEmpty)
    }

    /// Create hangs past the plugin's own 10 s watchdog: heartbeats keep it alive (else the error
    /// would be its exit), and our timeout kills it.
    @Test func aPluginThatHangsInCreateIsKilledAfterTheTimeout() async throws {
        var t = PluginTimeouts()
        t.operation = 12
        let driver = try await creating("p-hang", ["fixture-host": .string("10.231.9.9"), "fixture-fail": .string("hang")], timeouts: t)
        let interrupted = await #expect(throws: CreateInterrupted.self) { try await driver.create() }
        let e = interrupted?.underlying as? PluginError
        guard case .call(_, "Create", .timeout(_, 12), _)? = e else { Issue.record("\(String(describing: interrupted))"); return }
        #expect(
            e?.description
                == "the fixture driver did not finish Create within 12 s; the plugin was killed (it said: fixture: hanging in Create as asked)"
        )
        guard case .object(let raw)? = interrupted?.options.value else { Issue.record("\(String(describing: interrupted))"); return }
        #expect(raw["MachineName"] == .string("p-hang") && raw["Fail"] == .string("hang"))
        #expect(pluginsRunning().isEmpty)
    }

    @Test func aBinaryThatIsNotAPluginIsOneLine() async throws {
        let dir = storeDir + "/bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fake = dir + "/docker-machine-driver-fake"
        try "#!/bin/sh\necho hello\nsleep 30\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let e = await #expect(throws: PluginError.self) {
            _ = try await PluginSession.start(plugin: "fake", binary: fake, timeouts: PluginTimeouts())
        }
        #expect(e == .badAddress(binary: fake, line: "hello"))
        let silent = dir + "/docker-machine-driver-silent"
        try "#!/bin/sh\nexit 0\n".write(toFile: silent, atomically: true, encoding: .utf8)
        chmod(silent, 0o755)
        let e2 = await #expect(throws: PluginError.self) {
            _ = try await PluginSession.start(plugin: "silent", binary: silent, timeouts: PluginTimeouts())
        }
        #expect(e2 == .noAddress(binary: silent, seconds: 10, exited: true, stderr: ""))
    }

    /// A plugin binary still open for writing for a moment (ETXTBSY) starts once it is closed;
    /// one that cannot run says why in the system's words, not Foundation's error 256.
    @Test func aBinaryBusyForAMomentStartsAndAnUnrunnableOneSaysWhy() async throws {
        let dir = storeDir + "/bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let busy = dir + "/docker-machine-driver-busy"
        try FileManager.default.copyItem(atPath: binary, toPath: busy)
        let fd = open(busy, O_WRONLY)
        #expect(fd >= 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { close(fd) }
        let session = try await PluginSession.start(plugin: "busy", binary: busy, timeouts: PluginTimeouts())
        await session.close()
        let plain = dir + "/docker-machine-driver-plain"
        try "#!/bin/sh\nexit 0\n".write(toFile: plain, atomically: true, encoding: .utf8)
        chmod(plain, 0o644)
        let e = await #expect(throws: PluginError.self) {
            _ = try await PluginSession.start(plugin: "plain", binary: plain, timeouts: PluginTimeouts())
        }
        #expect(e?.description == "cannot start the driver plugin \(plain): Permission denied")
    }
}
