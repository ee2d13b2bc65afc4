/// A step of create/provision. Finished steps are persisted in config.json
/// (`provisioning.stepsDone[].step`) by their raw value: these strings are the record format and
/// never change (records written by earlier versions load as they are). The names that only
/// appear in errors and progress lines ("check flags", "check-bundle") are here too, so that
/// every decision on a step is made on a case.
public enum ProvisionStep: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// The request itself (flags, names) before anything is contacted.
    case checkFlags = "check flags"
    /// The driver makes the host (boots the VM, asks the plugin's Create). A record failed here
    /// may have no host reported yet: `provision` asks the driver to create it again.
    case createHost = "create-host"
    case connect = "connect"
    case detectOS = "detect-os"
    case checkRoot = "check-root"
    /// An `--engine-install-bundle` that does not fit the host, found before the record is written.
    case checkBundle = "check-bundle"
    case installSSHKey = "install-ssh-key"
    case setHostname = "set-hostname"
    case installEngine = "install-engine"
    case installCerts = "install-certs"
    case configureEngine = "configure-engine"
    case waitEngine = "wait-engine"
    /// `--provision-script FILE`: the operator's scripts, as root, after the engine answers.
    case runScripts = "run-scripts"

    /// The raw value: what users read in progress lines and errors.
    public var description: String { rawValue }
}
