import Foundation
import SwockStore
import SwockSupport

extension DockerContexts {
    /// One machine as the tar archive `docker context export` writes and `docker context
    /// import NAME FILE` reads: `meta.json` (endpoint `tcp://ADDRESS:PORT`, TLS verified) and
    /// `tls/docker/{ca,cert,key}.pem`. The context it makes is the user's, not swock-machine's:
    /// it carries no marker, so swock-machine never rewrites or removes it.
    public static func exportArchive(machine: MachineConfig, store: Store) throws -> Data {
        let name = machine.name
        try validateName(name)
        let meta = try metaJSON(name: name, host: machine.clientURL, storeRoot: nil)
        var entries: [Tar.Entry] = [.file("meta.json", meta, mode: 0o644), .directory("tls"), .directory("tls/docker")]
        // Behind jump hosts: the machine's own certificate is the only CA (`Store.dockerCertPath`).
        try store.refreshDockerCertPath(machine)
        let folder = machine.isBehindJumpHosts ? Store.pinnedTLSFolder + "/" : ""
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            entries.append(.file("tls/docker/\(f)", Data(try store.readMachineFile(name, folder + f).utf8)))
        }
        return try Tar.write(entries)
    }
}
