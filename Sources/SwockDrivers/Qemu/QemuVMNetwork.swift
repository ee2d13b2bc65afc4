import Foundation
import SwockStore
import SwockSupport

/// The network a store's qemu VMs share, as VirtualBox's host-only network was for Docker
/// Machine's VMs: user-mode networking gives each VM a network of its own (it reaches this
/// computer, not the other VMs), so every VM with user networking also gets a second interface
/// on this one, where they reach each other (Swarm's ports, overlay traffic). No root: it is
/// QEMU's socket network in multicast mode on the loopback interface (each VM's QEMU sends its
/// frames to a multicast group on 127.0.0.1 and receives the others'), so nothing of it leaves
/// this computer. The group's port is derived from the store's path, so two stores' VMs share a
/// segment only when their paths hash to the same port (1 in 20,000). Addresses are static, given to the guest by its cloud-init seed, one per
/// machine from `subnet`, claimed by a file named after the address in `qemu/network/` of the
/// store (created exclusively: two creates at once never get the same).
public struct QemuVMNetwork: Sendable {
    /// The VMs' addresses: 10.231.250.2 to .254, prefix 24.
    public static let subnetPrefix = "10.231.250."
    public static let prefixLength = 24
    public static let group = "239.255.231.1"

    public let store: Store

    public init(store: Store) { self.store = store }

    var directory: String { store.root + "/qemu/network" }

    /// The UDP port of this store's multicast group: 20000 to 39999, from the store's path.
    public var port: Int {
        20000 + Int(FNV1a.hash(store.root) % 20000)
    }

    /// QEMU's -netdev value for a VM's interface on it.
    public var netdev: String { "socket,id=n1,mcast=\(Self.group):\(port),localaddr=127.0.0.1" }

    /// Claims a free address for `machine`; throws when all are taken.
    public func claim(for machine: String) throws -> String {
        try QemuDriver.makeDirectories(directory)
        for host in 2...254 {
            let address = Self.subnetPrefix + String(host)
            let fd = open(directory + "/" + address, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw LocalFileError(path: directory + "/" + address, reason: LocalFileError.errnoText())
            }
            let name = Array(machine.utf8)
            _ = name.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            return address
        }
        throw QemuError.vmNetworkFull(subnet: Self.subnetPrefix + "0/\(Self.prefixLength)")
    }

    /// Gives back every address `machine` holds (rm, a create that failed).
    public func release(for machine: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for n in names {
            let path = directory + "/" + n
            if let d = FileManager.default.contents(atPath: path), String(decoding: d, as: UTF8.self) == machine {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// The cloud-init network configuration (version 2) of a VM: DHCP on its user-mode
    /// interface, `address` on its interface here; each matched by MAC.
    public static func cloudInitConfig(userMAC: String, peerMAC: String, address: String) -> String {
        """
        version: 2
        ethernets:
          nat0:
            match:
              macaddress: "\(userMAC)"
            dhcp4: true
          swock0:
            match:
              macaddress: "\(peerMAC)"
            addresses:
              - \(address)/\(prefixLength)

        """
    }
}
