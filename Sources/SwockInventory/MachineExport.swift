import Foundation
import SwockPKI
import SwockStore

/// `export`: machines of this store gathered into a `MachineArchive`, read under the store
/// lock so a concurrent regenerate-certs is seen whole or not at all.
public struct MachineExport: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func archive(_ names: [String], withCAKey: Bool) throws -> MachineArchive {
        var seen = Set<String>()
        let unique = names.filter { seen.insert($0).inserted }
        return try store.lock.withLock {
            var machines: [MachineArchive.Machine] = []
            var caKeys: [String: Data] = [:]
            for name in unique {
                let config = try store.load(name)
                guard config.provisioning.phase == .ready else { throw InventoryError.notReady(name) }
                var files: [String: Data] = [:]
                for f in MachineArchive.machineFiles {
                    guard let d = FileManager.default.contents(atPath: store.machineDir(name) + "/" + f) else {
                        // An adopted endpoint (none) has only what a client needs: no daemon
                        // certificate of ours, no host key.
                        if !MachineArchive.required(f, config) { continue }
                        throw InventoryError.missingFile(machine: name, file: f)
                    }
                    files[f] = d
                }
                if config.ssh.authMode == .generatedKey, let rel = config.ssh.keyPath {
                    guard let d = FileManager.default.contents(atPath: store.resolve(rel)) else {
                        throw InventoryError.missingFile(machine: name, file: rel)
                    }
                    files[MachineArchive.generatedKeyFile] = d
                }
                if let pw = FileManager.default.contents(atPath: store.resolve(Store.sudoPasswordPath(name))) {
                    files["sudo-password"] = pw
                }
                if withCAKey {
                    let caPEM = String(decoding: files["ca.pem"]!, as: UTF8.self)
                    guard let key = store.caKeyPEM(matching: caPEM), let id = try? Store.caID(caPEM: caPEM) else {
                        throw InventoryError.noCAKey(machine: name)
                    }
                    caKeys[id] = key
                }
                machines.append(MachineArchive.Machine(config: config, files: files))
            }
            return MachineArchive(machines: machines, caKeys: caKeys)
        }
    }
}
