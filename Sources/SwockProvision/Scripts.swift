import SwockSupport

/// The shell this target runs on hosts: Scripts/*.sh, embedded at build time (`RemoteScript`).
enum Scripts {
    static let setHostname = RemoteScript("set-hostname", PackageResources.set_hostname_sh)
    static let authorizeKey = RemoteScript("authorize-key", PackageResources.authorize_key_sh)
    static let revokeKey = RemoteScript("revoke-key", PackageResources.revoke_key_sh)
    /// Runs a provision script given on stdin (`runScripts`): its text is never on a command line.
    static let runProvisionScript = RemoteScript("run-provision-script", PackageResources.run_provision_script_sh)
}
