import FleetSupport
import Foundation
import Testing

/// The qemu driver with real QEMU, on what must fail: an image that is not a disk, a disk that
/// never brings up SSH. KVM when the machine can run ordinary guests with it, else TCG: the mode
/// is printed; runs in CI (never skipped there). A VM's whole life (create with the engine from
/// the offline repository, docker through env, stop/start, kill, restart, rm) is
/// scripts/qemu-lifecycle: under TCG on this machine kind one create takes longer than CI has.
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

    /// QEMU processes started for a VM directory under this store.
    static func qemuProcesses(_ cli: CLI) -> [Int32] {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.compactMap { Int32($0) }.filter { pid in
            guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let text = String(decoding: d, as: UTF8.self)
            return text.hasPrefix("qemu-system") && text.contains(cli.store + "/qemu/machines/")
        }
    }
}

@Suite(.enabled(if: QemuVM.enabled, "\(QemuVM.skipComment)"), .serialized)
struct QemuDriverTests {
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
