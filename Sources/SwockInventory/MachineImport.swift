import Foundation
import SwockPKI
import SwockRemote
import SwockStore
import SwockSupport

/// `import`: the machines of a `MachineArchive` added to this store, each under its own name
/// or the one `renames` gives it. Never overwrites: a name the store already has stops the
/// whole import before anything is written. Each machine is assembled in a hidden staging
/// directory and then claimed the way create claims a name (renamed into place in one step),
/// so a listing sees it complete or not at all; a failure part-way takes back what it had added.
///
/// A machine keeps its CA: when it is the store's own, the record points at `certs/`;
/// otherwise the CA certificate (and its key, when the archive has it) goes to `cas/ID`, and
/// the record's `tls.caDir` says so, so regenerate-certs and provision sign with that CA and
/// every client that trusted the machine before still does.
///
/// Two things in an archive decide what this store's CAs will sign later, so neither is taken
/// without being asked for (`Trust`): extra server-certificate names (`tls.extraSANs`, which
/// provision and regenerate-certs put in every certificate they sign), and a `ca.pem` that is
/// the store's own CA (the record then points at `certs/`, and provision signs its address
/// and names with the CA every machine of this store trusts).
public struct MachineImport: Sendable {
    public let store: Store
    public let trust: Trust

    /// What the user said to accept (`--accept-extra-sans`, `--accept-store-ca`).
    public struct Trust: Sendable, Equatable {
        public var extraSANs: Bool
        public var storeCA: Bool
        public init(extraSANs: Bool = false, storeCA: Bool = false) {
            self.extraSANs = extraSANs
            self.storeCA = storeCA
        }
    }

    /// Something in an archive that needs `Trust`; `machine` is its name in the archive.
    public enum Concern: Sendable, Equatable {
        case extraSANs(machine: String, sans: [String])
        case storeCA(machine: String, address: String)

        /// The refusal when it was not accepted.
        public var error: InventoryError {
            switch self {
            case .extraSANs(let m, let sans): return .extraSANs(machine: m, sans: sans)
            case .storeCA(let m, let address): return .claimsStoreCA(machine: m, address: address)
            }
        }

        /// The note shown when it was accepted.
        public var note: String {
            switch self {
            case .extraSANs(let m, let sans):
                return
                    "\(StoreError.printable(m)) carries extra server-certificate names: \(sans.map { StoreError.printable($0) }.joined(separator: ", "))"
            case .storeCA(let m, let address):
                return "\(StoreError.printable(m)) (\(StoreError.printable(address))) uses this store's own CA"
            }
        }
    }

    public init(store: Store, trust: Trust = Trust()) {
        self.store = store
        self.trust = trust
    }

    /// Everything in `archive` that needs `Trust`, in archive order.
    public func concerns(_ archive: MachineArchive) -> [Concern] {
        let own = store.ownCAID()
        var out: [Concern] = []
        for m in archive.machines {
            if !m.config.tls.extraSANs.isEmpty { out.append(.extraSANs(machine: m.config.name, sans: m.config.tls.extraSANs)) }
            if let own, let ca = m.files["ca.pem"], (try? Store.caID(caPEM: String(decoding: ca, as: UTF8.self))) == own {
                out.append(.storeCA(machine: m.config.name, address: m.config.address))
            }
        }
        return out
    }

    private func accepted(_ c: Concern) -> Bool {
        switch c {
        case .extraSANs: return trust.extraSANs
        case .storeCA: return trust.storeCA
        }
    }

    /// `OLD=NEW` texts into a map, checked against the archive's machines.
    public static func renames(_ texts: [String], archive: MachineArchive, file: String) throws -> [String: String] {
        var map: [String: String] = [:]
        let names = Set(archive.machines.map(\.config.name))
        for t in texts {
            guard let eq = t.firstIndex(of: "="), eq != t.startIndex, t.index(after: eq) != t.endIndex else {
                throw InventoryError.badRename(t)
            }
            let old = String(t[..<eq]), new = String(t[t.index(after: eq)...])
            guard names.contains(old) else { throw InventoryError.unknownRename(old, file: file) }
            try MachineName.validate(new)
            map[old] = new
        }
        return map
    }

    /// Imports every machine; returns their names in this store, in archive order.
    public func run(_ archive: MachineArchive, renames: [String: String] = [:]) throws -> [String] {
        let targets = archive.machines.map { renames[$0.config.name] ?? $0.config.name }
        var seen = Set<String>()
        for t in targets where !seen.insert(t).inserted { throw InventoryError.duplicateTarget(t) }
        if let refused = concerns(archive).first(where: { !accepted($0) }) { throw refused.error }
        try store.ensureLayout()
        store.sweepLeftovers()
        return try store.lock.withLock {
            for t in targets where store.exists(t) { throw InventoryError.clash(t) }
            var added: [String] = []
            do {
                for (m, target) in zip(archive.machines, targets) {
                    try add(m, as: target, caKeys: archive.caKeys)
                    added.append(target)
                }
            } catch {
                for name in added { try? store.removeLocked(name) }
                throw error
            }
            return added
        }
    }

    private func add(_ m: MachineArchive.Machine, as name: String, caKeys: [String: Data]) throws {
        guard let caData = m.files["ca.pem"] else { throw InventoryError.missingFile(machine: name, file: "ca.pem") }
        let caPEM = String(decoding: caData, as: UTF8.self)
        let id = try Store.caID(caPEM: caPEM)

        var config = m.config
        config.name = name
        config.ssh.knownHostsPath = Store.knownHostsPath(name)
        if config.ssh.authMode == .generatedKey { config.ssh.keyPath = Store.generatedKeyPath(name) }
        // The local end of the Engine API forward is this computer's: a port free here.
        if config.isBehindJumpHosts { config.engine.forwardPort = try EngineTunnel.freeLocalPort() }
        if id == store.ownCAID() {
            // Checked again under the lock: the store's CA may have been made since `concerns`.
            guard trust.storeCA else { throw InventoryError.claimsStoreCA(machine: m.config.name, address: m.config.address) }
            config.tls.caDir = nil
        } else {
            let dir = "cas/\(id)"
            try Store.makeDirectory(store.root + "/cas")
            try Store.makeDirectory(store.resolve(dir))
            if !FileManager.default.fileExists(atPath: store.resolve(dir) + "/ca.pem") {
                try AtomicFile.write(caData, to: store.resolve(dir) + "/ca.pem", mode: 0o600)
            }
            if let key = caKeys[id], !FileManager.default.fileExists(atPath: store.resolve(dir) + "/ca-key.pem") {
                try AtomicFile.write(key, to: store.resolve(dir) + "/ca-key.pem", mode: 0o600)
            }
            config.tls.caDir = dir
        }

        let staging = try store.stagingDirectory(for: name, kind: .importing)
        var moved = false
        defer { if !moved { try? FileManager.default.removeItem(atPath: staging) } }
        for (file, data) in m.files {
            try AtomicFile.write(data, to: staging + "/" + file, mode: 0o600)
        }
        config.updatedAt = Date()
        try AtomicFile.write(Store.encode(config), to: staging + "/config.json", mode: 0o600)
        // Claimed as create claims a name: the complete directory is renamed into place.
        do {
            try store.claim(name, from: staging)
        } catch StoreError.alreadyExists {
            throw InventoryError.clash(name)
        }
        moved = true
    }
}
