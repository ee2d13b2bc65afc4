import Foundation
import SwockSupport

/// What the qemu driver can fail with. Causes are values; `description` is the one line shown.
public enum QemuError: Error, Sendable, Equatable {
    /// A program the driver runs is not on PATH (`package` is the Debian package that has it).
    case programMissing(program: String, package: String, searched: [String])
    /// A `--qemu-*` value that cannot be used.
    case badFlag(flag: String, value: String, expected: String)
    /// The image file is not there or cannot be read.
    case imageUnreadable(path: String, reason: String)
    /// `qemu-img info` cannot read it, or reads it as raw bytes without a partition table.
    case notADiskImage(path: String, detail: String)
    /// The image names a backing file (it would read a file of this computer).
    case imageHasBackingFile(path: String, backing: String)
    case sha256Mismatch(image: String, expected: String, actual: String)
    case downloadFailed(url: String, status: Int32?)
    /// The asked disk is smaller than the image's own disk.
    case diskSmallerThanImage(askedGiB: Int, imageBytes: Int64)
    /// A bridge needs root (QEMU's bridge helper or a tap device).
    case bridgeNeedsRoot(bridge: String)
    /// A QEMU tool exited non-zero.
    case toolFailed(tool: String, status: Int32?, stderr: String)
    /// The VM process ended while the driver waited for it to boot.
    case vmExited(name: String, consoleLog: String)
    /// QEMU itself stopped the guest (a KVM internal error, a guest panic).
    case vmFailed(name: String, status: String, consoleLog: String)
    /// The VM ran but its SSH server never answered on the forwarded port.
    case sshNeverUp(name: String, seconds: Int, consoleLog: String)
    /// A VM directory of this name is there already (a machine being made, or left behind).
    case vmDirectoryExists(path: String)
    /// The machine's VM directory or disk is gone.
    case diskMissing(path: String)
    /// A UNIX socket path longer than sun_path holds (108 bytes).
    case socketPathTooLong(path: String)
    /// The QMP monitor did not answer as expected.
    case qmp(path: String, detail: String)
    /// Every address of the store's VM network is taken.
    case vmNetworkFull(subnet: String)
}

extension QemuError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .programMissing(let program, let package, let searched):
            return "\(program) not found in PATH (\(searched.joined(separator: ":"))): install \(package) (apt-get install \(package))"
        case .badFlag(let flag, let value, let expected):
            return "\(flag) \"\(value)\": expected \(expected)"
        case .imageUnreadable(let path, let reason):
            return "cannot read the image \(path): \(reason)"
        case .notADiskImage(let path, let detail):
            return "\(path) is not a disk image (\(detail)): give a qcow2 or raw cloud image with --qemu-image"
        case .imageHasBackingFile(let path, let backing):
            return "the image \(path) has a backing file (\(backing)): give a self-contained image (qemu-img convert -O qcow2 IN OUT)"
        case .sha256Mismatch(let image, let expected, let actual):
            return "the image \(image) has SHA-256 \(actual), not \(expected) as --qemu-image-sha256 says: nothing was kept"
        case .downloadFailed(let url, let status):
            return "downloading \(url) failed" + (status.map { " (curl exit status \($0))" } ?? "")
                + ": check the URL, or download it and give the file with --qemu-image"
        case .diskSmallerThanImage(let asked, let bytes):
            return
                "--qemu-disk-size \(asked) GiB is smaller than the image's own disk (\(bytes / (1 << 20)) MiB): give at least \((bytes + (1 << 30) - 1) >> 30)"
        case .bridgeNeedsRoot(let bridge):
            return "--qemu-network bridge:\(bridge) needs root: run as root, or use --qemu-network user"
        case .toolFailed(let tool, let status, let stderr):
            let line = stderr.split(separator: "\n").last.map(String.init) ?? ""
            return "\(tool) failed" + (status.map { " (exit status \($0))" } ?? "") + (line.isEmpty ? "" : ": \(line)")
        case .vmExited(let name, let log):
            return "the VM of \(name) exited while booting; it was removed (console: \(log))"
        case .vmFailed(let name, let status, let log):
            return "QEMU stopped the VM of \(name) (\(status)); it was killed and removed (console: \(log))"
        case .sshNeverUp(let name, let seconds, let log):
            return
                "the VM of \(name) did not bring up SSH within \(seconds) s; it was killed and removed (console: \(log); more time: SWOCK_QEMU_BOOT_TIMEOUT)"
        case .vmDirectoryExists(let path):
            return "a VM directory is already there (\(path)): another create of this name is running, or remove it"
        case .diskMissing(let path):
            return "the VM's disk \(path) is gone: remove the machine (rm -f) and create it again"
        case .socketPathTooLong(let path):
            return "the QMP socket path \(path) is longer than 107 bytes"
        case .qmp(let path, let detail):
            return "the VM's QMP monitor \(path) did not answer: \(detail)"
        case .vmNetworkFull(let subnet):
            return "every address of the VMs' network \(subnet) is taken: remove a qemu machine first"
        }
    }
}

extension QemuError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .programMissing: "qemu.program-missing"
        case .badFlag: "qemu.bad-flag"
        case .imageUnreadable: "qemu.image-unreadable"
        case .notADiskImage: "qemu.not-a-disk-image"
        case .imageHasBackingFile: "qemu.image-has-backing-file"
        case .sha256Mismatch: "qemu.sha256-mismatch"
        case .downloadFailed: "qemu.download-failed"
        case .diskSmallerThanImage: "qemu.disk-smaller-than-image"
        case .bridgeNeedsRoot: "qemu.bridge-needs-root"
        case .toolFailed: "qemu.tool-failed"
        case .vmExited: "qemu.vm-exited"
        case .vmFailed: "qemu.vm-failed"
        case .sshNeverUp: "qemu.ssh-never-up"
        case .vmDirectoryExists: "qemu.vm-directory-exists"
        case .diskMissing: "qemu.disk-missing"
        case .socketPathTooLong: "qemu.socket-path-too-long"
        case .qmp: "qemu.qmp"
        case .vmNetworkFull: "qemu.vm-network-full"
        }
    }
}
