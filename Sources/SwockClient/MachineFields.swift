import Foundation
import SwockStore
import SwockSupport

/// What templates see (`ls --format`, `inspect -f`): the machine as a tree of values. `.Driver`
/// prints the driver's name and holds Docker Machine's driver fields (`{{.Driver.IPAddress}}`,
/// `{{json .Driver}}`), so templates written for Docker Machine keep working.
public func machineTemplateData(
    config c: MachineConfig, store: Store, status: MachineStatus? = nil,
    active: Bool = false
) -> TemplateValue {
    let keyPath = c.ssh.keyPath.map(store.resolve) ?? ""
    let expiry = c.tls.serverNotAfter.map { ISO8601Time.format($0) } ?? ""
    let labels = c.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    var f: [String: TemplateValue] = [
        "Name": .string(c.name),
        "Driver": .map(
            [
                "DriverName": .string(c.driver), "MachineName": .string(c.name), "IPAddress": .string(c.address),
                "SSHUser": .string(c.ssh.user), "SSHPort": .int(c.ssh.port), "SSHKeyPath": .string(keyPath),
                "EnginePort": .int(c.engine.port), "StorePath": .string(store.root),
            ], text: c.driver),
        "DriverName": .string(c.driver),
        "Address": .string(c.address), "IP": .string(c.address),
        "URL": .string(c.clientURL),
        "Active": .string(active ? "*" : "-"),
        "ActiveHost": .bool(active),
        "SSHUser": .string(c.ssh.user), "SSHPort": .int(c.ssh.port),
        "SSHKeyPath": .string(keyPath),
        "EnginePort": .int(c.engine.port),
        "Engine": .map(["Port": .int(c.engine.port), "Version": .string(c.engine.version ?? "")]),
        "CertPath": .string(store.dockerCertPath(c)),
        "Phase": .string(c.provisioning.phase.rawValue),
        "LastError": .string(c.provisioning.lastError ?? ""),
        "ServerCertExpiry": .string(expiry),
        "TLS": .map([
            "ServerNotAfter": .string(expiry),
            "SANs": .list(c.tls.serverSANs.map { .string($0) }, text: c.tls.serverSANs.joined(separator: ",")),
        ]),
        "OS": .string(c.host?.prettyName ?? c.host?.osID ?? ""),
        "Hostname": .string(c.host?.hostname ?? ""),
        "Labels": .map(c.labels.mapValues { .string($0) }, text: labels),
    ]
    if let s = status {
        let docker = s.engineVersion ?? "Unknown"
        f["State"] = .string(s.state.rawValue)
        f["DockerVersion"] = .string(docker)
        f["Docker"] = .string(docker)
        f["Error"] = .string(s.error ?? "")
        f["Errors"] = .string(s.error ?? "")
    }
    return .map(f)
}

/// The same fields, flat: `Engine.Version`, `Labels.KEY`, each as the text a template prints
/// (`ls --format json` writes these).
public func machineFields(config c: MachineConfig, store: Store, status: MachineStatus? = nil, active: Bool = false) -> [String: String] {
    var flat = machineTemplateData(config: c, store: store, status: status, active: active).flattened
    // `.Driver.X` is for templates; the flat view keeps `Driver` as the name, as before.
    for key in flat.keys where key.hasPrefix("Driver.") { flat[key] = nil }
    return flat
}
