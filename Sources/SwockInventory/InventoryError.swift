import SwockStore
import SwockSupport

/// Why an export or an import did not happen. One line each, saying what to do; when one of
/// these is thrown the store (and the output file) are as they were.
public enum InventoryError: Error, Equatable, CustomStringConvertible, Sendable {
    case notReady(String)
    case missingFile(machine: String, file: String)
    case noCAKey(machine: String)
    case encryptedNeedsPassphrase(file: String)
    case notSealed(file: String)
    case extraSANs(machine: String, sans: [String])
    case claimsStoreCA(machine: String, address: String)
    case notAnExport(file: String, reason: String)
    case damaged(file: String, reason: String)
    case cannotDecrypt(file: String, reason: String)
    case unknownRename(String, file: String)
    case badRename(String)
    case clash(String)
    case duplicateTarget(String)
    case tooManyForDockerContext

    public var description: String {
        switch self {
        case .notReady(let name):
            return "machine \"\(name)\" is not fully provisioned, so it cannot be exported; run `swock-machine provision \(name)` first"
        case .missingFile(let machine, let file):
            return
                "machine \"\(machine)\" has no \(file) in the store; run `swock-machine regenerate-certs \(machine)` (or provision) first"
        case .noCAKey(let machine):
            return
                "--with-ca-key: the key of machine \"\(machine)\"'s CA is not in this store (the store's CA was renewed since, or the machine was imported without it); export without --with-ca-key, or run `swock-machine regenerate-certs \(machine)` first"
        case .encryptedNeedsPassphrase(let file):
            return "\(file) is encrypted: give its passphrase with --passphrase-env VAR or --passphrase-stdin"
        case .notSealed(let file):
            return
                "\(file) is not sealed with a passphrase, though one was given: anyone could have written it, so it was refused and nothing was imported; import it without a passphrase only if you trust where it came from"
        case .extraSANs(let machine, let sans):
            let list = sans.map { "\"\(StoreError.printable($0))\"" }.joined(separator: ", ")
            return
                "machine \"\(StoreError.printable(machine))\" in the archive asks for extra names in its server certificate (\(list)), which provision and regenerate-certs would sign; nothing was imported: check them, then import again with --accept-extra-sans"
        case .claimsStoreCA(let machine, let address):
            return
                "machine \"\(StoreError.printable(machine))\" in the archive claims this store's own CA, so provision and regenerate-certs would sign certificates for its address \"\(StoreError.printable(address))\" (and its names) with that CA; nothing was imported: import again with --accept-store-ca only if the archive was exported from this store"
        case .notAnExport(let file, let reason):
            return "\(file) is not a swock-machine export (\(reason)); give a file written by `swock-machine export`"
        case .damaged(let file, let reason):
            return "\(file) is damaged (\(reason)); nothing was imported: export it again"
        case .cannotDecrypt(let file, let reason):
            return "\(file): \(reason); nothing was imported"
        case .unknownRename(let old, let file):
            return "--rename \(old)=...: \(file) holds no machine \"\(old)\"; `--rename` takes OLD=NEW with OLD a machine in the archive"
        case .badRename(let text):
            return "--rename \"\(text)\": expected OLD=NEW, e.g. --rename web1=web1-copy"
        case .clash(let name):
            return
                "machine \"\(name)\" already exists in this store, so nothing was imported; import it under another name with --rename \(name)=NEW"
        case .duplicateTarget(let name):
            return "two machines of the archive would both be imported as \"\(name)\"; give them different names with --rename"
        case .tooManyForDockerContext:
            return "--docker-context exports one machine (a docker context holds one endpoint); name exactly one"
        }
    }
}

extension InventoryError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .notReady: return "inventory.not-ready"
        case .missingFile: return "inventory.missing-file"
        case .noCAKey: return "inventory.no-c-a-key"
        case .encryptedNeedsPassphrase: return "inventory.encrypted-needs-passphrase"
        case .notSealed: return "inventory.not-sealed"
        case .extraSANs: return "inventory.extra-s-a-ns"
        case .claimsStoreCA: return "inventory.claims-store-c-a"
        case .notAnExport: return "inventory.not-an-export"
        case .damaged: return "inventory.damaged"
        case .cannotDecrypt: return "inventory.cannot-decrypt"
        case .unknownRename: return "inventory.unknown-rename"
        case .badRename: return "inventory.bad-rename"
        case .clash: return "inventory.clash"
        case .duplicateTarget: return "inventory.duplicate-target"
        case .tooManyForDockerContext: return "inventory.too-many-for-docker-context"
        }
    }
}
