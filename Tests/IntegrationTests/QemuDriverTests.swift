import FleetSupport
import Foundation
import SwockSupport
import Testing

/// The qemu driver on real VMs booted from the test image machines/qemu-image builds (Debian
/// packages only: the fleet's base tree, the cloud kernel, cloud-init, extlinux, the offline
/// engine repository). KVM when the machine can run ordinary guests with it, else TCG: the mode
/// is printed. Needs root only to build the image; runs in CI (never skipped there).
enum QemuVM {
    static var qemuPresent: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") }
    static var enabled: Bool { Fleet.inCI || (geteuid() == 0 && qemuPresent) }
    /// A VM's whole life: with KVM, or asked for (SWOCK_QEMU_LIFECYCLE=1) under TCG.
    static var lifecycleEnabled: Bool {
        enabled && (mode == "KVM" || ProcessInfo.processInfo.environment["SWOCK_QEMU_LIFECYCLE"] == "1")
    }
    static var skipComment: String { geteuid() != 0 ? "building the qemu test image needs root" : "qemu-system-x86 is not installed" }

    /// "KVM" or "TCG", as the driver decides (kvm_pvm runs only PVM guests, not a BIOS boot).
    static var mode: String {
        if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") { return "TCG" }
        let fd = open("/dev/kvm", O_RDWR)
        if fd < 0 { return "TCG" }
        close(fd)
        return "KVM"
    }

    /// The test image (built once per machine by machines/qemu-image).
    static func image() async throws -> String {
        let r = try await Subprocess.run([Fleet.repoRoot + "/machines/qemu-image"])
        guard r.status == 0 else { throw Fleet.Failure(description: "machines/qemu-image failed: \(r.stderrText)") }
        let path = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        print("qemu tests: accelerator \(mode), image \(path)")
        return path
    }

    /// `swock-machine env NAME`'s variables (its `export K="V"` lines).
    static func env(_ cli: CLI, _ name: String) async throws -> [String: String] {
        let r = try await cli.run(["env", name])
        guard r.status == 0 else { throw Fleet.Failure(description: "env \(name): \(r.all)") }
        var out: [String: String] = [:]
        for line in r.stdoutText.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst("export ".count)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            out[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return out
    }

    static func docker(_ cli: CLI, _ name: String, _ args: [String]) async throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in try await Self.env(cli, name) { env[k] = v }
        env["DOCKER_CONFIG"] = cli.dockerConfig
        return try await Subprocess.run(["docker"] + args, environment: env)
    }

    /// QEMU processes started for a VM directory under this store.
    static func qemuProcesses(_ cli: CLI) -> [Int32] {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.compactMap { Int32($0) }.filter { pid in
            guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let text = String(decoding: d, as: UTF8.self)
            return text.hasPrefix("qemu-system") && text.contains(cli.store + "/qemu/machines/")
        }
    }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func state(_ cli: CLI, _ name: String) async throws -> String {
        try await cli.run(["ls", "--format", "{{.Name}} {{.State}}"]).stdoutText
            .split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) } ?? "(not listed)"
    }
}

@Suite(.enabled(if: QemuVM.enabled, "\(QemuVM.skipComment)"), .serialized)
struct QemuDriverTests {
    /// One VM through its whole life. Runs where KVM works, or when SWOCK_QEMU_LIFECYCLE=1: under
    /// TCG on a 2-core machine one create (boot, cloud-init, the engine installed from the image's
    /// offline repository) takes longer than CI has (README, "qemu": the figures).
    @Test(.enabled(if: QemuVM.lifecycleEnabled, "TCG only here: set SWOCK_QEMU_LIFECYCLE=1 to run it (slow)"))
    func oneVMLivesAndDiesThroughTheLifecycleVerbs() async throws {
        let image = try await QemuVM.image()
        let cli = CLI()
        defer { cli.cleanup() }
        let clock = ContinuousClock()
        var t0 = clock.now
        func lap(_ what: String) {
            print("qemu tests: \(what): \(String(format: "%.0f", (clock.now - t0).timeInterval)) s (\(QemuVM.mode))")
            t0 = clock.now
        }
        let create = try await cli.run(["create", "-d", "qemu", "--qemu-image", image, "--qemu-cpus", "2", "--qemu-memory", "1024", "q1"])
        lap("create to Docker is up")
        #expect(create.status == 0, "\(create.all)")
        guard create.status == 0 else { _ = try? await cli.run(["rm", "-f", "-y", "q1"]); return }
        print(create.stderrText)
        if QemuVM.mode == "TCG" {
            #expect(create.stderrText.components(separatedBy: "TCG").count == 2, "TCG said once: \(create.all)")
        }
        let cfg = try cli.config("q1")
        #expect(cfg["driver"] as? String == "qemu")
        let opts = cfg["driverOptions"] as? [String: Any] ?? [:]
        let sshPort = opts["sshHostPort"] as? Int ?? 0, enginePort = opts["engineHostPort"] as? Int ?? 0
        #expect(sshPort > 0 && enginePort > 0, "\(opts)")
        #expect(try await QemuVM.state(cli, "q1") == "Running")

        // docker through env: the engine came from the image's offline repository.
        let tar = try await Fleet.busyboxTarball()
        let imp = try await QemuVM.docker(cli, "q1", ["import", tar, "busybox:local"])
        #expect(imp.status == 0, "\(imp.all)")
        let run = try await QemuVM.docker(cli, "q1", ["run", "--rm", "busybox:local", "echo", "hello from q1"])
        #expect(run.status == 0 && run.stdoutText.contains("hello from q1"), "\(run.all)")
        let keep = try await QemuVM.docker(cli, "q1", ["create", "--name", "kept", "busybox:local", "sleep", "1"])
        #expect(keep.status == 0, "\(keep.all)")
        lap("docker import, run, create through env")

        // stop: ACPI shutdown; Stopped at once afterwards, no QEMU process.
        let stop = try await cli.run(["stop", "q1"])
        #expect(stop.status == 0, "\(stop.all)")
        lap("stop")
        #expect(try await QemuVM.state(cli, "q1") == "Stopped")
        #expect(QemuVM.qemuProcesses(cli).isEmpty)
        // start: the same disk (the container is still there), the same ports.
        let start = try await cli.run(["start", "q1"])
        #expect(start.status == 0, "\(start.all)")
        lap("start to Docker answering")
        #expect(try await QemuVM.state(cli, "q1") == "Running")
        let ps = try await QemuVM.docker(cli, "q1", ["ps", "-a", "--format", "{{.Names}}"])
        #expect(ps.stdoutText.contains("kept"), "\(ps.all)")
        let again = try cli.config("q1")["driverOptions"] as? [String: Any] ?? [:]
        #expect(again["sshHostPort"] as? Int == sshPort && again["engineHostPort"] as? Int == enginePort)

        // kill: immediate.
        let kill = try await cli.run(["kill", "q1"])
        #expect(kill.status == 0, "\(kill.all)")
        #expect(try await QemuVM.state(cli, "q1") == "Stopped")
        #expect(QemuVM.qemuProcesses(cli).isEmpty)
        lap("kill")
        // restart from Stopped boots it again.
        let restart = try await cli.run(["restart", "q1"])
        #expect(restart.status == 0, "\(restart.all)")
        lap("restart to Docker answering")
        #expect(try await QemuVM.state(cli, "q1") == "Running")
        let ver = try await QemuVM.docker(cli, "q1", ["version", "--format", "{{.Server.Version}}"])
        #expect(ver.status == 0, "\(ver.all)")

        // rm: no QEMU process, no disk, no port left.
        let rm = try await cli.run(["rm", "-y", "q1"])
        #expect(rm.status == 0, "\(rm.all)")
        lap("rm")
        #expect(QemuVM.qemuProcesses(cli).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/qemu/machines/q1"))
        #expect(!FileManager.default.fileExists(atPath: cli.store + "/machines/q1"))
        #expect(!QemuVM.listening(sshPort) && !QemuVM.listening(enginePort))
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
