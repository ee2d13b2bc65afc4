import Foundation

/// What `create -d qemu` was asked for (its `--qemu-*` flags), checked.
public struct QemuCreateFlags: Sendable, Equatable {
    /// The published Debian 12 cloud image: the default when `--qemu-image` is not given.
    public static let defaultImage = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"

    public var image: String
    public var imageSHA256: String?
    public var cpus: Int
    public var memoryMiB: Int
    public var diskGiB: Int
    public var network: QemuNetwork

    public init(
        image: String? = nil, imageSHA256: String? = nil, cpus: Int? = nil, memoryMiB: Int? = nil,
        diskGiB: Int? = nil, network: String? = nil
    ) throws {
        self.image = image ?? Self.defaultImage
        if self.image.isEmpty {
            throw QemuError.badFlag(flag: "--qemu-image", value: "", expected: "a file path or an http(s):// or file:// URL")
        }
        if let h = imageSHA256 {
            let lower = h.lowercased()
            guard lower.count == 64, lower.allSatisfy({ $0.isHexDigit }) else {
                throw QemuError.badFlag(flag: "--qemu-image-sha256", value: h, expected: "64 hexadecimal digits")
            }
            self.imageSHA256 = lower
        }
        self.cpus = cpus ?? 1
        guard (1...64).contains(self.cpus) else {
            throw QemuError.badFlag(flag: "--qemu-cpus", value: String(self.cpus), expected: "1 to 64")
        }
        self.memoryMiB = memoryMiB ?? 1024
        guard (256...1_048_576).contains(self.memoryMiB) else {
            throw QemuError.badFlag(flag: "--qemu-memory", value: String(self.memoryMiB), expected: "MiB, 256 or more")
        }
        self.diskGiB = diskGiB ?? 20
        guard (1...65536).contains(self.diskGiB) else {
            throw QemuError.badFlag(flag: "--qemu-disk-size", value: String(self.diskGiB), expected: "GiB, 1 or more")
        }
        self.network = try QemuNetwork(parsing: network ?? "user")
    }
}

/// `user` (QEMU's user-mode networking, forwards from 127.0.0.1) or `bridge:NAME`.
public enum QemuNetwork: Sendable, Equatable, Codable {
    case user
    case bridge(String)

    public init(parsing text: String) throws {
        if text == "user" { self = .user; return }
        if text.hasPrefix("bridge:") {
            let name = String(text.dropFirst("bridge:".count))
            if !name.isEmpty, name.count <= 15, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
                self = .bridge(name)
                return
            }
        }
        throw QemuError.badFlag(flag: "--qemu-network", value: text, expected: "user or bridge:NAME (a bridge interface name)")
    }

    public var text: String {
        switch self {
        case .user: return "user"
        case .bridge(let b): return "bridge:" + b
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try QemuNetwork(parsing: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// The driver's settings kept in the record (`driverOptions`): everything `start` needs to
/// boot the same disk with the same ports.
public struct QemuSettings: Codable, Sendable, Equatable {
    /// The base image in the store (store-relative), shared by the machines made from it.
    public var baseImage: String
    public var baseFormat: String
    /// The image as given (path or URL), for `inspect`.
    public var imageSource: String
    public var cpus: Int
    public var memoryMiB: Int
    public var diskGiB: Int
    public var network: QemuNetwork
    /// Forwards from 127.0.0.1 (user networking): to the guest's 22 and 2376.
    public var sshHostPort: Int?
    public var engineHostPort: Int?
    /// The guest's MAC address (bridge networking finds the guest's address by it).
    public var macAddress: String
    /// The user the seed makes, with the generated key.
    public var sshUser: String
    /// The guest's address on a bridge, once seen.
    public var bridgeAddress: String?
    /// User networking: the guest's second interface, on the store's VM network (`QemuVMNetwork`)
    /// where its VMs reach each other: its address there and its MAC. Absent in records made
    /// before the VM network (those VMs boot without it).
    public var peerAddress: String?
    public var peerMAC: String?

    public init(
        baseImage: String, baseFormat: String, imageSource: String, cpus: Int, memoryMiB: Int, diskGiB: Int,
        network: QemuNetwork, sshHostPort: Int?, engineHostPort: Int?, macAddress: String, sshUser: String,
        bridgeAddress: String?
    ) {
        self.baseImage = baseImage
        self.baseFormat = baseFormat
        self.imageSource = imageSource
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.diskGiB = diskGiB
        self.network = network
        self.sshHostPort = sshHostPort
        self.engineHostPort = engineHostPort
        self.macAddress = macAddress
        self.sshUser = sshUser
        self.bridgeAddress = bridgeAddress
    }
}
