import Foundation
import SwockSupport

/// The fields templates see (`ls --format`, `inspect -f`), by name.
public func machineFields(config c: MachineConfig, store: Store, status: MachineStatus? = nil, active: Bool = false) -> [String: String] {
    var f: [String: String] = [
        "Name": c.name,
        "Driver": c.driver, "DriverName": c.driver,
        "Address": c.address, "IP": c.address,
        "URL": c.clientURL,
        "Active": active ? "*" : "-",
        "ActiveHost": active ? "true" : "false",
        "SSHUser": c.ssh.user, "SSHPort": String(c.ssh.port),
        "SSHKeyPath": c.ssh.keyPath.map(store.resolve) ?? "",
        "EnginePort": String(c.engine.port),
        "Engine.Port": String(c.engine.port),
        "Engine.Version": c.engine.version ?? "",
        "CertPath": store.dockerCertPath(c),
        "Phase": c.provisioning.phase.rawValue,
        "LastError": c.provisioning.lastError ?? "",
        "ServerCertExpiry": c.tls.serverNotAfter.map { ISO8601Time.format($0) } ?? "",
        "TLS.ServerNotAfter": c.tls.serverNotAfter.map { ISO8601Time.format($0) } ?? "",
        "TLS.SANs": c.tls.serverSANs.joined(separator: ","),
        "OS": c.host?.prettyName ?? c.host?.osID ?? "",
        "Hostname": c.host?.hostname ?? "",
        "Labels": c.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
    ]
    for (k, v) in c.labels { f["Labels.\(k)"] = v }
    if let s = status {
        f["State"] = s.state.rawValue
        f["DockerVersion"] = s.engineVersion ?? "Unknown"
        f["Docker"] = f["DockerVersion"]
        f["Error"] = s.error ?? ""
        f["Errors"] = f["Error"]
    }
    return f
}
