import Foundation
import SwockDrivers
import SwockStore
import Testing

/// The qemu driver's pure parts: its flags' checks, the record's settings, what it does with no
/// QEMU running (VMs themselves: IntegrationTests/QemuDriverTests).
struct QemuDriverUnitTests {
    @Test func flagsAreCheckedBeforeAnythingIsMade() throws {
        let f = try QemuCreateFlags(
            image: "/x.qcow2", imageSHA256: String(repeating: "AB", count: 32), cpus: 2, memoryMiB: 512,
            diskGiB: 8, network: "bridge:br0")
        #expect(f.imageSHA256 == String(repeating: "ab", count: 32))
        #expect(f.network == .bridge("br0"))
        let d = try QemuCreateFlags()
        #expect(d.image == QemuCreateFlags.defaultImage && d.cpus == 1 && d.memoryMiB == 1024 && d.diskGiB == 20 && d.network == .user)

        #expect(throws: QemuError.badFlag(flag: "--qemu-image-sha256", value: "abc", expected: "64 hexadecimal digits")) {
            try QemuCreateFlags(imageSHA256: "abc")
        }
        #expect(throws: QemuError.badFlag(flag: "--qemu-cpus", value: "0", expected: "1 to 64")) { try QemuCreateFlags(cpus: 0) }
        #expect(throws: QemuError.badFlag(flag: "--qemu-memory", value: "64", expected: "MiB, 256 or more")) {
            try QemuCreateFlags(memoryMiB: 64)
        }
        #expect(throws: QemuError.badFlag(flag: "--qemu-disk-size", value: "0", expected: "GiB, 1 or more")) {
            try QemuCreateFlags(diskGiB: 0)
        }
        for bad in ["tap", "bridge:", "bridge:a b", "bridge:../x", "bridge:waytoolongbridgename0"] {
            #expect(throws: QemuError.self, "\(bad)") { try QemuNetwork(parsing: bad) }
        }
    }

    /// The VMs' network: each machine its own address, claimed exclusively and given back by
    /// machine; the group's port fixed per store; cloud-init's configuration by MAC.
    @Test func vmNetworkAddressesAreClaimedOncePerMachine() throws {
        let root = NSTemporaryDirectory() + "q-net-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let net = QemuVMNetwork(store: Store(root: root))
        let a = try net.claim(for: "vm1"), b = try net.claim(for: "vm2"), c = try net.claim(for: "vm1")
        #expect([a, b, c] == ["10.231.250.2", "10.231.250.3", "10.231.250.4"])
        net.release(for: "vm1")
        #expect(try net.claim(for: "vm3") == "10.231.250.2")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/qemu/network").sorted() == ["10.231.250.2", "10.231.250.3"])
        for _ in 4...254 { _ = try net.claim(for: "filler") }
        #expect(throws: QemuError.vmNetworkFull(subnet: "10.231.250.0/24")) { try net.claim(for: "one-too-many") }

        #expect(net.port == QemuVMNetwork(store: Store(root: root)).port && (20000..<40000).contains(net.port))
        #expect(net.netdev == "socket,id=n1,mcast=239.255.231.1:\(net.port),localaddr=127.0.0.1")
        let other = QemuVMNetwork(store: Store(root: root + "-other"))
        #expect(other.port != net.port)
        #expect(
            QemuVMNetwork.cloudInitConfig(userMAC: "52:54:00:00:00:01", peerMAC: "52:54:00:00:00:02", address: "10.231.250.9")
                == "version: 2\nethernets:\n  nat0:\n    match:\n      macaddress: \"52:54:00:00:00:01\"\n    dhcp4: true\n"
                + "  swock0:\n    match:\n      macaddress: \"52:54:00:00:00:02\"\n    addresses:\n      - 10.231.250.9/24\n")
    }

    @Test func theRecordKeepsWhatStartNeeds() throws {
        let s = QemuSettings(
            baseImage: "qemu/images/x.qcow2", baseFormat: "qcow2", imageSource: "/img", cpus: 1, memoryMiB: 512,
            diskGiB: 4, network: .user, sshHostPort: 40022, engineHostPort: 40376,
            macAddress: "52:54:00:01:02:03", sshUser: "swock", bridgeAddress: nil)
        let o = try DriverOptions(encoding: s)
        #expect(try o.decode(QemuSettings.self) == s)
        let store = Store(root: NSTemporaryDirectory() + "q-unit-" + UUID().uuidString.prefix(8))
        var config = MachineConfig(
            name: "vm", driver: "qemu", address: "127.0.0.1",
            ssh: SSHSettings(user: "swock", port: 40022, authMode: .key, keyPath: nil, knownHostsPath: "k"),
            engine: EngineSettings(port: 40376), tls: TLSSettings(keyType: "ecdsa-p256"))
        config.driverOptions = o
        let d = try DriverRegistry.driver(for: config, store: store)
        #expect(d.name == "qemu" && d.hostOwnership == .owned)
        #expect(d.options() == o)
        config.driverOptions = nil
        #expect(throws: DriverError.self) { try DriverRegistry.driver(for: config, store: store) }
    }

    /// No pid file, or one naming a process that is not this machine's QEMU (what a reboot of
    /// this computer leaves): Stopped, and stop/kill do nothing.
    @Test func aStalePidFileReadsStopped() async throws {
        let root = NSTemporaryDirectory() + "q-unit-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = Store(root: root)
        let s = QemuSettings(
            baseImage: "b", baseFormat: "qcow2", imageSource: "/img", cpus: 1, memoryMiB: 512, diskGiB: 4,
            network: .user, sshHostPort: 1, engineHostPort: 2, macAddress: "52:54:00:01:02:03", sshUser: "swock",
            bridgeAddress: nil)
        var config = MachineConfig(
            name: "vm", driver: "qemu", address: "127.0.0.1",
            ssh: SSHSettings(user: "swock", port: 1, authMode: .key, keyPath: nil, knownHostsPath: "k"),
            engine: EngineSettings(port: 2), tls: TLSSettings(keyType: "ecdsa-p256"))
        config.driverOptions = try DriverOptions(encoding: s)
        let d = try QemuDriver(config: config, store: store)
        try FileManager.default.createDirectory(atPath: d.vmDirectory, withIntermediateDirectories: true)
        #expect(try await d.state() == .error)  // no disk
        FileManager.default.createFile(atPath: d.vmDirectory + "/disk.qcow2", contents: Data())
        #expect(try await d.state() == .stopped)
        // A live process that is not this machine's QEMU.
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/bin/sleep")
        other.arguments = ["30"]
        try other.run()
        defer { other.terminate() }
        try "\(other.processIdentifier)\n".write(toFile: d.vmDirectory + "/qemu.pid", atomically: true, encoding: .utf8)
        #expect(try await d.state() == .stopped)
        try await d.kill()
        #expect(other.isRunning)  // not signalled
        #expect(!FileManager.default.fileExists(atPath: d.vmDirectory + "/qemu.pid"))
        try await d.remove()
        #expect(!FileManager.default.fileExists(atPath: d.vmDirectory))
    }
}
