import Foundation
import SSHKit
import SwockRuntime
import SwockStore
import SwockSupport

/// `qemu`: a local virtual machine made from a cloud image (qcow2 or raw, its own bootloader,
/// cloud-init). The base image is kept once in the store (`qemu/images/SHA256.qcow2`); each
/// machine has, in `qemu/machines/NAME/`, a copy-on-write overlay disk grown to the asked size,
/// a NoCloud seed (a generated SSH key for user `swock`, the host name), the VM's pid file, QMP
/// socket and serial console log. The VM runs detached (`-daemonize`: its own session).
/// User networking forwards a free 127.0.0.1 port to the guest's 22, and another to the same
/// port number in the guest, where the engine is told to listen (no root needed).
public struct QemuDriver: MachineDriver {
    public static let sshUser = "swock"

    public let machineName: String
    public let store: Store
    /// Set when the driver was made for `create`.
    let flags: QemuCreateFlags?
    /// Set when made from a record (or after create).
    let settings: QemuSettings?
    let tools: QemuTools
    /// One-line notes for the operator (the TCG notice, the download progress's start).
    let note: @Sendable (String) -> Void

    /// For create: nothing exists yet.
    public init(
        creating name: String, flags: QemuCreateFlags, store: Store,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        note: @escaping @Sendable (String) -> Void = { StandardStreams.err($0 + "\n") }
    ) {
        self.machineName = name
        self.store = store
        self.flags = flags
        self.settings = nil
        self.tools = QemuTools(environment: environment)
        self.note = note
    }

    /// For a machine that exists: its record's driver options.
    public init(
        config: MachineConfig, store: Store,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        note: @escaping @Sendable (String) -> Void = { StandardStreams.err($0 + "\n") }
    ) throws {
        guard let o = config.driverOptions, let s = try? o.decode(QemuSettings.self) else {
            throw DriverError.badOptions(driver: "qemu", detail: "no qemu settings in the record")
        }
        self.machineName = config.name
        self.store = store
        self.flags = nil
        self.settings = s
        self.tools = QemuTools(environment: environment)
        self.note = note
    }

    public var name: String { "qemu" }
    public var hostOwnership: HostOwnership { .owned }

    // MARK: - Paths

    /// The VM's own directory. Outside `machines/NAME`: the driver makes the VM before the
    /// record (and its directory) is written, and a directory already there would stop the
    /// record's claim of the name.
    public var vmDirectory: String { store.root + "/qemu/machines/" + machineName }
    var diskPath: String { vmDirectory + "/disk.qcow2" }
    var seedPath: String { vmDirectory + "/seed.iso" }
    var keyPath: String { vmDirectory + "/id_ed25519" }
    var pidPath: String { vmDirectory + "/qemu.pid" }
    var qmpPath: String { vmDirectory + "/qmp.sock" }
    var consolePath: String { vmDirectory + "/console.log" }
    public var imagesDirectory: String { store.root + "/qemu/images" }

    // MARK: - MachineDriver

    public func preCreateCheck() async throws {
        guard let flags else { return }
        if FileManager.default.fileExists(atPath: vmDirectory) {
            throw QemuError.vmDirectoryExists(path: vmDirectory)
        }
        let tools = self.tools
        try await OffPool.run("qemu pre-create") {
            _ = try tools.find("qemu-system-x86_64")
            _ = try tools.find("qemu-img")
            _ = try tools.find("cloud-localds")
            _ = try tools.find("sha256sum")
            if Self.isURL(flags.image) {
                _ = try tools.find("curl")
            } else if !FileManager.default.isReadableFile(atPath: flags.image) {
                throw QemuError.imageUnreadable(
                    path: flags.image, reason: FileManager.default.fileExists(atPath: flags.image) ? "permission denied" : "no such file")
            }
            if case .bridge(let b) = flags.network, geteuid() != 0 { throw QemuError.bridgeNeedsRoot(bridge: b) }
        }
        try QemuError.socketPathCheck(qmpPath)
    }

    public func create() async throws -> CreatedHost {
        guard let flags else { throw DriverError.badOptions(driver: "qemu", detail: "create needs the --qemu-* flags") }
        let driver = self
        return try await OffPool.run("qemu create \(machineName)") { try driver.createBlocking(flags) }
    }

    public func remove() async throws {
        let driver = self
        try await OffPool.run("qemu rm \(machineName)") {
            driver.killBlocking()
            // The VM is gone: its address is free again, whatever is left of its files.
            defer { driver.vmNetwork.release(for: driver.machineName) }
            if FileManager.default.fileExists(atPath: driver.vmDirectory) {
                try FileManager.default.removeItem(atPath: driver.vmDirectory)
            }
        }
    }

    public func start() async throws {
        let driver = self
        try await OffPool.run("qemu start \(machineName)") { try driver.startBlocking() }
    }

    public func stop() async throws {
        let driver = self
        try await OffPool.run("qemu stop \(machineName)") { driver.stopBlocking(timeout: driver.stopTimeout) }
    }

    public func restart() async throws {
        let driver = self
        try await OffPool.run("qemu restart \(machineName)") {
            driver.stopBlocking(timeout: driver.stopTimeout)
            try driver.startBlocking()
        }
    }

    public func kill() async throws {
        let driver = self
        try await OffPool.run("qemu kill \(machineName)") { driver.killBlocking() }
    }

    public func state() async throws -> DriverState {
        let driver = self
        return try await OffPool.run("qemu state \(machineName)") { driver.stateBlocking() }
    }

    public func sshAccess() async throws -> DriverSSHAccess? {
        guard let s = settings else { return nil }
        return access(s)
    }

    public func dockerURL() async throws -> String? { nil }

    public func options() -> DriverOptions {
        guard let s = settings, let o = try? DriverOptions(encoding: s) else { return DriverOptions() }
        return o
    }

    /// "kvm" when /dev/kvm can run an ordinary guest here, else "tcg" (QEMU's emulator).
    public static func accelerator() -> String {
        // kvm_pvm (a paravirtual KVM for nested clouds) runs only PVM-aware guest kernels, not
        // a BIOS booting a cloud image's bootloader.
        if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") { return "tcg" }
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return "tcg" }
        close(fd)
        return "kvm"
    }

    // MARK: - Create

    func createBlocking(_ flags: QemuCreateFlags) throws -> CreatedHost {
        let base = try baseImage(flags)
        let fm = FileManager.default
        try Self.makeDirectories(PathText.parent(vmDirectory))
        guard mkdir(vmDirectory, 0o700) == 0 else { throw QemuError.vmDirectoryExists(path: vmDirectory) }
        do {
            let info = try tools.imageInfo(store.resolve(base.path))
            if Int64(flags.diskGiB) << 30 < info.virtualSize {
                throw QemuError.diskSmallerThanImage(askedGiB: flags.diskGiB, imageBytes: info.virtualSize)
            }
            try tools.check(
                "qemu-img",
                [
                    "create", "-q", "-f", "qcow2", "-b", store.resolve(base.path), "-F", base.format,
                    diskPath, "\(flags.diskGiB)G",
                ])
            let key = try SSHKeyGenerator.generateEd25519(comment: "swock-machine qemu \(machineName)")
            try AtomicFile.write(Data(key.privateKey.utf8), to: keyPath, mode: 0o600)
            var settings = QemuSettings(
                baseImage: base.path, baseFormat: base.format, imageSource: flags.image, cpus: flags.cpus,
                memoryMiB: flags.memoryMiB, diskGiB: flags.diskGiB, network: flags.network,
                sshHostPort: nil, engineHostPort: nil, macAddress: Self.randomMAC(), sshUser: Self.sshUser, bridgeAddress: nil)
            if flags.network == .user {
                let ports = try FreePorts.take(2)
                settings.sshHostPort = ports[0]
                settings.engineHostPort = ports[1]
                settings.peerAddress = try vmNetwork.claim(for: machineName)
                settings.peerMAC = Self.randomMAC()
            }
            try makeSeed(publicKey: key.publicLine, settings: settings)
            let accel = Self.accelerator()
            if accel == "tcg" { note("qemu: KVM is not usable here (/dev/kvm); the VM runs on QEMU's TCG emulator (slower)") }
            let booted = try boot(settings, accel: accel)
            let a = access(booted)
            return CreatedHost(
                address: a.host, ssh: a, engineHostPort: booted.engineHostPort, peerAddress: booted.peerAddress,
                options: try DriverOptions(encoding: booted))
        } catch {
            killBlocking()
            try? fm.removeItem(atPath: vmDirectory)
            vmNetwork.release(for: machineName)
            throw error
        }
    }

    /// The network this store's VMs share (their second interface).
    var vmNetwork: QemuVMNetwork { QemuVMNetwork(store: store) }

    /// The base image in the store for `flags.image`: downloaded or copied once, checked.
    func baseImage(_ flags: QemuCreateFlags) throws -> (path: String, format: String) {
        let fm = FileManager.default
        try Self.makeDirectories(imagesDirectory)
        // Kept by the hash of its content; a URL is also remembered by the hash of the URL, so
        // it is fetched once.
        if let want = flags.imageSHA256, let kept = keptImage(sha: want) { return kept }
        var source = flags.image
        var downloaded: String?
        defer { if let d = downloaded { try? fm.removeItem(atPath: d) } }
        if Self.isURL(flags.image) {
            if flags.imageSHA256 == nil, let kept = urlCache(flags.image), let k = keptImage(sha: kept) { return k }
            let tmp = imagesDirectory + "/.download-\(UUID().uuidString)"
            downloaded = tmp
            note("qemu: downloading \(flags.image)")
            let o = try tools.run(
                "curl", ["-fL", "--progress-bar", "-o", tmp, "--", flags.image], timeout: .seconds(3600), passStderr: true)
            guard o.ok else { throw QemuError.downloadFailed(url: flags.image, status: o.exit.status) }
            source = tmp
        }
        guard fm.isReadableFile(atPath: source) else {
            throw QemuError.imageUnreadable(path: flags.image, reason: "no such file, or not readable")
        }
        let sha = try tools.sha256(of: source)
        if let want = flags.imageSHA256, want != sha { throw QemuError.sha256Mismatch(image: flags.image, expected: want, actual: sha) }
        if Self.isURL(flags.image) { try? AtomicFile.write(Data(sha.utf8), to: urlCachePath(flags.image), mode: 0o600) }
        if let kept = keptImage(sha: sha) { return kept }
        let info = try tools.imageInfo(source)
        if let b = info.backingFile { throw QemuError.imageHasBackingFile(path: flags.image, backing: b) }
        if info.format == "raw", !Self.hasPartitionTable(source) {
            throw QemuError.notADiskImage(path: flags.image, detail: "no partition table: qemu-img reads it only as raw bytes")
        }
        let dest = imagesDirectory + "/\(sha).qcow2"
        let tmp = imagesDirectory + "/.convert-\(UUID().uuidString)"
        defer { try? fm.removeItem(atPath: tmp) }
        if info.format == "qcow2" {
            try fm.copyItem(atPath: source, toPath: tmp)
        } else {
            try tools.check("qemu-img", ["convert", "-f", info.format, "-O", "qcow2", "--", source, tmp], timeout: .seconds(3600))
        }
        // Put in place unless another create put the same image there meanwhile: its VMs have
        // that file open, and replacing it would leave them on a deleted copy.
        guard link(tmp, dest) == 0 || errno == EEXIST else { throw LocalFileError(path: dest, reason: LocalFileError.errnoText()) }
        return (store.relative(dest), "qcow2")
    }

    func keptImage(sha: String) -> (path: String, format: String)? {
        let p = imagesDirectory + "/\(sha).qcow2"
        return FileManager.default.fileExists(atPath: p) ? (store.relative(p), "qcow2") : nil
    }
    func urlCachePath(_ url: String) -> String {
        imagesDirectory + "/url-" + String(FNV1a.hash(url), radix: 16)
    }
    func urlCache(_ url: String) -> String? {
        FileManager.default.contents(atPath: urlCachePath(url)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A raw disk image starts with an MBR or protective MBR: the 0x55AA signature at 510.
    static func hasPartitionTable(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let d = try? h.read(upToCount: 512), d.count == 512 else { return false }
        return d[d.startIndex + 510] == 0x55 && d[d.startIndex + 511] == 0xAA
    }

    static func isURL(_ s: String) -> Bool { s.hasPrefix("http://") || s.hasPrefix("https://") || s.hasPrefix("file://") }

    func makeSeed(publicKey: String, settings: QemuSettings) throws {
        let userData = """
            #cloud-config
            hostname: \(machineName)
            users:
              - name: \(Self.sshUser)
                sudo: "ALL=(ALL) NOPASSWD:ALL"
                shell: /bin/bash
                lock_passwd: true
                ssh_authorized_keys:
                  - \(publicKey)

            """
        let metaData = "instance-id: swock-\(machineName)-\(UUID().uuidString.prefix(8).lowercased())\nlocal-hostname: \(machineName)\n"
        let ud = vmDirectory + "/user-data", md = vmDirectory + "/meta-data", nc = vmDirectory + "/network-config"
        defer {
            for f in [ud, md, nc] { try? FileManager.default.removeItem(atPath: f) }
        }
        try AtomicFile.write(Data(userData.utf8), to: ud, mode: 0o600)
        try AtomicFile.write(Data(metaData.utf8), to: md, mode: 0o600)
        var args = [seedPath, ud, md]
        // The VM network's address (user networking); without it the image's own network setup
        // (DHCP on its interface) is left alone.
        if let address = settings.peerAddress, let mac = settings.peerMAC {
            let config = QemuVMNetwork.cloudInitConfig(userMAC: settings.macAddress, peerMAC: mac, address: address)
            try AtomicFile.write(Data(config.utf8), to: nc, mode: 0o600)
            args = ["-N", nc] + args
        }
        try tools.check("cloud-localds", args, timeout: .seconds(120))
    }

    // MARK: - Boot

    /// Seconds for the guest's SSH server to answer after QEMU started: SWOCK_QEMU_BOOT_TIMEOUT,
    /// else `bootSeconds` at the VM's pace.
    var bootTimeout: Int { Int(tools.environment["SWOCK_QEMU_BOOT_TIMEOUT"] ?? "") ?? Int(Double(Self.bootSeconds) * pace) }
    /// Seconds for an ACPI shutdown before the kill: SWOCK_QEMU_STOP_TIMEOUT, else `stopSeconds`
    /// at the VM's pace (a kill loses what the guest had not written yet).
    var stopTimeout: Int { Int(tools.environment["SWOCK_QEMU_STOP_TIMEOUT"] ?? "") ?? Int(Double(Self.stopSeconds) * pace) }
    static let bootSeconds = 300
    static let stopSeconds = 90

    /// TCG: one host thread per virtual CPU (`--qemu-cpus 2` uses two host cores), and a
    /// translation cache of 256 MiB (QEMU's default is 1 GiB of this computer's memory per VM;
    /// a small one makes a booting guest translate its code again and again).
    static let tcgAccel = "tcg,thread=multi,tb-size=256"

    /// How much slower than an ordinary server a VM is: 1 on KVM; on TCG, `tcgPace` (an
    /// emulated guest runs its package manager and dockerd many times slower), or
    /// SWOCK_QEMU_PACE when set to a number of 1 or more.
    public var pace: Double { Self.pace(accelerator: Self.accelerator(), environment: tools.environment) }

    public static let tcgPace: Double = 10

    static func pace(accelerator: String, environment: [String: String]) -> Double {
        if let p = Double(environment["SWOCK_QEMU_PACE"] ?? ""), p.isFinite, p >= 1 { return p }
        return accelerator == "kvm" ? 1 : tcgPace
    }

    /// Starts QEMU detached and waits for the guest's SSH server. On failure the VM is killed
    /// (the caller removes the files).
    func boot(_ settings: QemuSettings, accel: String) throws -> QemuSettings {
        let fm = FileManager.default
        guard fm.fileExists(atPath: diskPath) else { throw QemuError.diskMissing(path: diskPath) }
        try? fm.removeItem(atPath: pidPath)
        try? fm.removeItem(atPath: qmpPath)
        try? fm.removeItem(atPath: consolePath)
        var args = [
            "-name", "swock-\(machineName)",
            // Only the devices given here (no VGA, floppy, parallel port or CD drive to emulate).
            "-nodefaults",
            "-machine", "q35", "-accel", accel == "kvm" ? "kvm" : Self.tcgAccel, "-cpu", accel == "kvm" ? "host" : "max",
            "-smp", String(settings.cpus), "-m", String(settings.memoryMiB),
            // Entropy for the guest's early boot (cloud-init, sshd's host keys).
            "-device", "virtio-rng-pci",
            // QEMU's option syntax: a comma in a value is written twice.
            "-drive", "file=\(diskPath.replacingOccurrences(of: ",", with: ",,")),format=qcow2,if=virtio",
            "-drive", "file=\(seedPath.replacingOccurrences(of: ",", with: ",,")),format=raw,if=virtio,readonly=on",
            "-display", "none", "-serial", "file:\(consolePath)",
            "-qmp", "unix:\(qmpPath),server=on,wait=off",
            "-pidfile", pidPath, "-daemonize",
        ]
        switch settings.network {
        case .user:
            guard let s = settings.sshHostPort, let e = settings.engineHostPort else {
                throw DriverError.badOptions(driver: "qemu", detail: "no forwarded ports in the record")
            }
            args += [
                "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:\(s)-:22,hostfwd=tcp:127.0.0.1:\(e)-:\(e)",
                "-device", "virtio-net-pci,netdev=n0,mac=\(settings.macAddress)",
            ]
            if let mac = settings.peerMAC, settings.peerAddress != nil {
                args += ["-netdev", vmNetwork.netdev, "-device", "virtio-net-pci,netdev=n1,mac=\(mac)"]
            }
        case .bridge(let b):
            args += ["-netdev", "bridge,id=n0,br=\(b)", "-device", "virtio-net-pci,netdev=n0,mac=\(settings.macAddress)"]
        }
        let o = try tools.run("qemu-system-x86_64", args, timeout: .seconds(120))
        guard o.ok else { throw QemuError.toolFailed(tool: "qemu-system-x86_64", status: o.exit.status, stderr: o.stderr) }

        var s = settings
        let deadline = ContinuousClock.now + .seconds(bootTimeout)
        // At the VM's pace: an emulated guest's sshd (one fork and exec per connection) can take
        // longer than 3 s to send its banner, and each probe costs the booting guest CPU.
        let pace = self.pace
        let bannerMs = Int32(min(3000 * pace, 600_000))
        while true {
            guard runningPID() != nil else { throw QemuError.vmExited(name: machineName, consoleLog: consoleTail()) }
            if let status = try? QMPClient.status(socket: qmpPath), ["internal-error", "guest-panicked", "shutdown"].contains(status) {
                let tail = consoleTail()
                killBlocking()
                throw QemuError.vmFailed(name: machineName, status: status, consoleLog: tail)
            }
            switch s.network {
            case .user:
                if SSHBanner.answers(host: "127.0.0.1", port: s.sshHostPort!, timeoutMs: bannerMs) { return s }
            case .bridge:
                if let ip = Self.neighbourAddress(mac: s.macAddress), SSHBanner.answers(host: ip, port: 22, timeoutMs: bannerMs) {
                    s.bridgeAddress = ip
                    return s
                }
            }
            if ContinuousClock.now >= deadline {
                let tail = consoleTail()
                killBlocking()
                throw QemuError.sshNeverUp(name: machineName, seconds: bootTimeout, consoleLog: tail)
            }
            Thread.sleep(forTimeInterval: pace)
        }
    }

    func startBlocking() throws {
        guard let s = settings else { throw DriverError.badOptions(driver: "qemu", detail: "no qemu settings in the record") }
        if runningPID() != nil { return }
        let accel = Self.accelerator()
        _ = try boot(s, accel: accel)
    }

    // MARK: - Power

    /// The VM's pid when its QEMU runs: the pid file's process, alive, and a QEMU started for
    /// this machine's directory (a pid file left by a reboot of this computer names nothing,
    /// or another process).
    func runningPID() -> pid_t? {
        guard let d = FileManager.default.contents(atPath: pidPath),
            let pid = pid_t(String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        guard let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !cmd.isEmpty else { return nil }
        let args = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard args.contains(where: { $0.hasPrefix("unix:" + qmpPath) }) else { return nil }
        // A zombie (exited, not reaped yet) is not running.
        if let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.endIndex,
            stat[close + 2] == UInt8(ascii: "Z")
        {
            return nil
        }
        return pid
    }

    func stateBlocking() -> DriverState {
        guard FileManager.default.fileExists(atPath: diskPath) else { return .error }
        guard runningPID() != nil else { return .stopped }
        guard let status = try? QMPClient.status(socket: qmpPath) else { return .starting }
        switch status {
        case "running": return .running
        case "paused", "suspended", "prelaunch", "inmigrate", "postmigrate", "save-vm", "restore-vm", "finish-migrate": return .paused
        case "shutdown": return .stopping
        default: return .error
        }
    }

    /// ACPI power button through QMP, then a kill when the guest has not powered off in time.
    func stopBlocking(timeout: Int) {
        guard runningPID() != nil else { cleanRunFiles(); return }
        _ = try? QMPClient.execute(socket: qmpPath, command: "system_powerdown")
        let deadline = ContinuousClock.now + .seconds(timeout)
        while runningPID() != nil, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.5) }
        killBlocking()
    }

    func killBlocking() {
        if let pid = runningPID() {
            Glibc.kill(pid, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(10)
            while runningPID() != nil, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        }
        cleanRunFiles()
    }

    func cleanRunFiles() {
        try? FileManager.default.removeItem(atPath: pidPath)
        try? FileManager.default.removeItem(atPath: qmpPath)
    }

    // MARK: - Helpers

    func access(_ s: QemuSettings) -> DriverSSHAccess {
        switch s.network {
        case .user: return DriverSSHAccess(host: "127.0.0.1", port: s.sshHostPort ?? 22, user: s.sshUser, keyPath: keyPath)
        case .bridge: return DriverSSHAccess(host: s.bridgeAddress ?? "", port: 22, user: s.sshUser, keyPath: keyPath)
        }
    }

    /// The last non-empty line of the serial console (for one-line errors).
    func consoleTail() -> String {
        guard let d = FileManager.default.contents(atPath: consolePath) else { return "no output" }
        let text = String(decoding: d.suffix(4096), as: UTF8.self)
        let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.last(where: { !$0.isEmpty })
        return line.map { String($0.prefix(160)) } ?? "no output"
    }

    static func randomMAC() -> String {
        var g = SystemRandomNumberGenerator()
        return "52:54:00:" + (0..<3).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined(separator: ":")
    }

    /// The IPv4 address this computer's neighbour table has for `mac` (a bridged guest).
    static func neighbourAddress(mac: String) -> String? {
        guard let d = FileManager.default.contents(atPath: "/proc/net/arp") else { return nil }
        for line in String(decoding: d, as: UTF8.self).split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 4, f[3].lowercased() == mac.lowercased() { return String(f[0]) }
        }
        return nil
    }

    static func makeDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw LocalFileError(path: path, reason: "cannot create the directory")
        }
    }
}

extension QemuError {
    static func socketPathCheck(_ path: String) throws {
        if path.utf8.count >= 108 { throw QemuError.socketPathTooLong(path: path) }
    }
}

/// `create -d qemu`: its flags.
public struct QemuKind: DriverKind {
    public init() {}
    public var name: String { "qemu" }
    public var summary: String { "a local QEMU virtual machine from a cloud image (KVM, else TCG); no root needed" }

    public static let flags: [DriverFlag] = [
        DriverFlag(
            name: "qemu-image", usage: "the cloud image: a qcow2 or raw file, or an http(s):// or file:// URL",
            envVar: "QEMU_IMAGE", kind: .string, defaultValue: .string(QemuCreateFlags.defaultImage)),
        DriverFlag(
            name: "qemu-image-sha256", usage: "the image's SHA-256 (checked before it is kept)", envVar: "QEMU_IMAGE_SHA256", kind: .string),
        DriverFlag(
            name: "qemu-cpus", usage: "virtual CPUs (without KVM: one host thread each, and every deadline 10 times longer)",
            envVar: "QEMU_CPUS", kind: .int, defaultValue: .int(1)),
        DriverFlag(name: "qemu-memory", usage: "memory in MiB", envVar: "QEMU_MEMORY", kind: .int, defaultValue: .int(1024)),
        DriverFlag(
            name: "qemu-disk-size", usage: "disk size in GiB (a copy-on-write overlay of the image)", envVar: "QEMU_DISK_SIZE", kind: .int,
            defaultValue: .int(20)),
        DriverFlag(
            name: "qemu-network", usage: "user (forwards from 127.0.0.1, no root) or bridge:NAME (root)", envVar: "QEMU_NETWORK",
            kind: .string, defaultValue: .string("user")),
    ]

    public func createFlags() async throws -> [DriverFlag] { Self.flags }

    public func driverForCreate(machine: String, flags: DriverFlagValues, store: Store) async throws -> any MachineDriver {
        var image = flags.string("qemu-image")
        if let i = image, !Self.isURLText(i), !i.isEmpty {
            let e = (i as NSString).expandingTildeInPath
            image = e.hasPrefix("/") ? e : FileManager.default.currentDirectoryPath + "/" + e
        }
        let f = try QemuCreateFlags(
            image: image, imageSHA256: flags.string("qemu-image-sha256"), cpus: flags.int("qemu-cpus"),
            memoryMiB: flags.int("qemu-memory"), diskGiB: flags.int("qemu-disk-size"), network: flags.string("qemu-network"))
        return QemuDriver(creating: machine, flags: f, store: store)
    }

    public func driver(for config: MachineConfig, store: Store) throws -> any MachineDriver {
        try QemuDriver(config: config, store: store)
    }

    static func isURLText(_ s: String) -> Bool { QemuDriver.isURL(s) }
}
