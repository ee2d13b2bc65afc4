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

    /// Whether a TCP socket listens on 127.0.0.1:port (or any address): read from /proc/net/tcp,
    /// not by connecting (a connect to a free port can meet itself).
    static func listening(_ port: Int) -> Bool {
        guard let d = FileManager.default.contents(atPath: "/proc/net/tcp") else { return false }
        let hex = String(format: "%04X", port)
        return String(decoding: d, as: UTF8.self).split(separator: "\n").dropFirst().contains { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            return f.count > 3 && f[3] == "0A" && (f[1] == "0100007F:\(hex)" || f[1] == "00000000:\(hex)")
        }
    }

    /// What `ss` says listens on `port` (for a failure's message).
    static func listeners(_ port: Int) async -> String {
        (try? await Subprocess.run(["/usr/bin/ss", "-ltnp", "sport = :\(port)"]).stdoutText) ?? ""
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
    /// offline repository; docker through `env` on both; a swarm of the two over the VMs'
    /// network (q1 manager, q2 worker, both Ready); then q1's life: stop (ACPI) and start
    /// with a container created before the stop still listed and the same ports, kill, restart;
    /// rm of both leaves no QEMU process, disk, record, listening port or claimed address. Each
    /// phase's time is printed. Two fleet slots: two emulated VMs load this machine as two fleet
    /// tests do.
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

            // Swarm across the two: q2 reaches q1 on the VMs' network (user networking alone
            // gives each VM a network of its own).
            let peers = try ["q1", "q2"].map { try #require(cli.config($0)["peerAddress"] as? String, "no VM network address for \($0)") }
            #expect(peers[0] != peers[1] && peers.allSatisfy { $0.hasPrefix("10.231.250.") }, "\(peers)")
            let initR = try await cli.run(["swarm", "init", "q1"])
            #expect(initR.status == 0, "\(initR.all)")
            let join = try await cli.run(["swarm", "join", "--manager", "q1", "q2"])
            #expect(join.status == 0, "\(join.all)")
            var nodes = ""
            for _ in 0..<120 {
                nodes = try await MachineLife.docker("q1", ["node", "ls", "--format", "{{.Hostname}} {{.Status}}"], cli).stdoutText
                if Set(nodes.split(separator: "\n")) == ["q1 Ready", "q2 Ready"] { break }
                try await Task.sleep(for: .seconds(2))
            }
            #expect(Set(nodes.split(separator: "\n")) == ["q1 Ready", "q2 Ready"], "\(nodes)")
            let address = try await MachineLife.docker("q1", ["node", "inspect", "q2", "--format", "{{.Status.Addr}}"], cli)
            #expect(address.stdoutText == peers[1] + "\n", "q2's address as the swarm sees it: \(address.all)")
            phase("swarm init on q1, q2 joined, both Ready")

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

            // The worker leaves the swarm with its rm; the last manager is removed only with -f.
            let rmWorker = try await cli.run(["rm", "-y", "q2"])
            #expect(rmWorker.status == 0, "\(rmWorker.all)")
            let rmManager = try await cli.run(["rm", "-f", "-y", "q1"])
            #expect(rmManager.status == 0, "\(rmManager.all)")
            #expect(QemuVM.qemuProcesses(cli).isEmpty, "a QEMU process is left after rm")
            for name in ["q1", "q2"] {
                #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/" + name))
                #expect(!FileManager.default.fileExists(atPath: cli.store + "/qemu/machines/" + name))
            }
            for port in [ssh, engine] where QemuVM.listening(port) {
                Issue.record("the forwarded port \(port) still listens after rm: \(await QemuVM.listeners(port))")
            }
            let claimed = (try? FileManager.default.contentsOfDirectory(atPath: cli.store + "/qemu/network")) ?? []
            #expect(claimed.isEmpty, "VM network addresses still claimed after rm: \(claimed)")
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
