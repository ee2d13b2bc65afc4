import FleetSupport
import Foundation
import Testing

/// The qemu driver with real QEMU: two VMs through their whole life on the test image
/// (machines/qemu-image), and what must fail (an image that is not a disk, a disk that never
/// brings up SSH). KVM when the machine can run ordinary guests with it, else TCG: the mode is
/// printed; runs in CI (never skipped there).
enum QemuVM {
    static var qemuPresent: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") }
    static var enabled: Bool { Fleet.inCI || (geteuid() == 0 && qemuPresent) }
    static var skipComment: String { geteuid() != 0 ? "building the qemu test image needs root" : "qemu-system-x86 is not installed" }

    /// "KVM" or "TCG", as the driver decides (kvm_pvm runs only PVM guests, not a BIOS boot).
    static var mode: String {
        if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") { return "TCG" }
        let fd = open("/dev/kvm", O_RDWR)
        if fd < 0 { return "TCG" }
        close(fd)
        return "KVM"
    }

    /// The test image's path, built when missing (machines/qemu-image, about 30 s; CI builds it
    /// while the tests compile).
    static func image() async throws -> String {
        let r = try await Subprocess.run([Fleet.repoRoot + "/machines/qemu-image"])
        guard r.status == 0, let path = r.stdoutText.split(separator: "\n").last.map(String.init) else {
            throw Fleet.Failure(description: "machines/qemu-image failed: \(r.all)")
        }
        return path
    }

    /// A port the machine's record keeps (the driver's forwards: sshHostPort, engineHostPort).
    static func port(_ key: String, of machine: String, _ cli: CLI) -> Int? {
        guard let d = FileManager.default.contents(atPath: "\(cli.store)/machines/\(machine)/config.json") else { return nil }
        let text = String(decoding: d, as: UTF8.self)
        guard let r = text.range(of: "\"\(key)\"\\s*:\\s*[0-9]+", options: .regularExpression) else { return nil }
        return Int(text[r].split(separator: ":").last!.trimmingCharacters(in: .whitespaces))
    }

    /// Whether something listens on 127.0.0.1:port.
    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// QEMU processes started for a VM directory under this store (of `machine` only, when given).
    static func qemuProcesses(_ cli: CLI, machine: String? = nil) -> [Int32] {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.compactMap { Int32($0) }.filter { pid in
            guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let program = args.first, program.split(separator: "/").last?.hasPrefix("qemu-system") == true else { return false }
            return args.contains { $0.contains(cli.store + "/qemu/machines/" + (machine.map { $0 + "/" } ?? "")) }
        }
    }
}

@Suite(.enabled(if: QemuVM.enabled, "\(QemuVM.skipComment)"), .serialized)
struct QemuDriverTests {
    /// Two VMs created at once (one CPU, 768 MiB each), the engine installed from the image's
    /// offline repository; docker through `env` on both; then q1's life: stop (ACPI) and start
    /// with a container created before the stop still listed and the same ports, kill, restart;
    /// rm of both leaves no QEMU process, disk, record or listening port. Each phase's time is
    /// printed. Two fleet slots: two emulated VMs load this machine as two fleet tests do.
    @Test(.fleetSlot(weight: 2)) func twoVMsThroughTheirWholeLife() async throws {
        let mode = QemuVM.mode
        print("qemu tests: accelerator \(mode)")
        let image = try await QemuVM.image()
        let tar = try await Fleet.busyboxTarball()
        let cli = CLI()
        defer { cli.cleanup() }
        defer { for pid in QemuVM.qemuProcesses(cli) { kill(pid, SIGKILL) } }  // never left running, whatever failed
        var lap = ContinuousClock.now
        func phase(_ what: String) {
            let d = ContinuousClock.now - lap
            print("qemu tests: \(what): \(d.components.seconds) s (\(mode))")
            lap = .now
        }
        do {
            async let first = cli.run(["create", "-d", "qemu", "--qemu-image", image, "--qemu-cpus", "1", "--qemu-memory", "768", "q1"])
            async let second = cli.run(["create", "-d", "qemu", "--qemu-image", image, "--qemu-cpus", "1", "--qemu-memory", "768", "q2"])
            let (c1, c2) = try await (first, second)
            phase("two creates at once, to Docker is up")
            for (name, c) in [("q1", c1), ("q2", c2)] {
                try #require(c.status == 0, "create \(name): \(c.all)")
                #expect(c.stderrText.contains("QEMU's TCG emulator") == (mode == "TCG"), "\(name): \(c.stderrText)")
                try await MachineLife.expectState(name, "Running", cli)
                try await MachineLife.expectDockerRuns(name, "hello from \(name)", cli, tar: tar, importing: true)
            }
            #expect(Set(QemuVM.qemuProcesses(cli)).count == 2)
            let made = try await MachineLife.docker("q1", ["create", "--name", "kept", "busybox:local", "sleep", "1"], cli)
            #expect(made.status == 0, "\(made.all)")
            phase("docker import, run and create through env")

            let ssh = try #require(QemuVM.port("sshHostPort", of: "q1", cli), "no SSH forward in q1's record")
            let engine = try #require(QemuVM.port("engineHostPort", of: "q1", cli), "no engine forward in q1's record")
            let stop = try await cli.run(["stop", "q1"])
            #expect(stop.status == 0, "\(stop.all)")
            try await MachineLife.expectState("q1", "Stopped", cli)
            #expect(QemuVM.qemuProcesses(cli, machine: "q1").isEmpty, "a QEMU process is left after stop")
            phase("stop")
            let start = try await cli.run(["start", "q1"])
            #expect(start.status == 0, "\(start.all)")
            try await MachineLife.expectState("q1", "Running", cli)
            let listed = try await MachineLife.docker("q1", ["ps", "-a", "--format", "{{.Names}}"], cli)
            #expect(
                listed.stdoutText.split(separator: "\n").contains("kept"), "the container created before the stop is gone: \(listed.all)")
            #expect(QemuVM.port("sshHostPort", of: "q1", cli) == ssh && QemuVM.port("engineHostPort", of: "q1", cli) == engine)
            phase("start to Docker answering")

            let kill = try await cli.run(["kill", "q1"])
            #expect(kill.status == 0, "\(kill.all)")
            try await MachineLife.expectState("q1", "Stopped", cli)
            #expect(QemuVM.qemuProcesses(cli, machine: "q1").isEmpty, "a QEMU process is left after kill")
            let restart = try await cli.run(["restart", "q1"])
            #expect(restart.status == 0, "\(restart.all)")
            try await MachineLife.expectState("q1", "Running", cli)
            try await MachineLife.expectDockerRuns("q1", "after restart", cli, tar: tar)
            phase("kill, then restart to Docker answering")

            let rm = try await cli.run(["rm", "-y", "q1", "q2"])
            #expect(rm.status == 0, "\(rm.all)")
            #expect(QemuVM.qemuProcesses(cli).isEmpty, "a QEMU process is left after rm")
            for name in ["q1", "q2"] {
                #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/" + name))
                #expect(!FileManager.default.fileExists(atPath: cli.store + "/qemu/machines/" + name))
            }
            #expect(!QemuVM.listening(ssh) && !QemuVM.listening(engine), "a forwarded port still listens after rm")
            phase("rm")
        } catch {
            _ = try? await cli.run(["rm", "-f", "-y", "q1", "q2"])
            throw error
        }
    }

    @Test func anImageThatIsNotADiskAndADiskWithoutSSHLeaveNothing() async throws {
        print("qemu tests: accelerator \(QemuVM.mode)")
        let cli = CLI()
        defer { cli.cleanup() }
        let dir = NSTemporaryDirectory() + "q-images-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // Text is "raw" to qemu-img: refused because it has no partition table.
        try String(repeating: "not a disk image\n", count: 100).write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        let bad = try await cli.run(["create", "-d", "qemu", "--qemu-image", dir + "/notes.txt", "q-bad"])
        #expect(bad.status != 0)
        Faults.expectOneError(bad, ["notes.txt is not a disk image"])
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/q-bad"))
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/qemu/machines/q-bad"))

        // A disk with nothing to boot: QEMU runs, SSH never answers.
        let mk = try await Subprocess.run(["/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", dir + "/blank.qcow2", "64M"])
        #expect(mk.status == 0, "\(mk.stderrText)")
        let silent = try await cli.run(
            ["create", "-d", "qemu", "--qemu-image", dir + "/blank.qcow2", "--qemu-memory", "256", "q-silent"],
            env: ["SWOCK_QEMU_BOOT_TIMEOUT": "20"])
        #expect(silent.status != 0)
        Faults.expectOneError(silent, ["did not bring up SSH within 20 s", "killed and removed"])
        #expect(QemuVM.qemuProcesses(cli).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/q-silent"))
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/qemu/machines/q-silent"))
    }
}
