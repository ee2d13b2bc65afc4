// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "swock-machine",
    // macOS 15: Synchronization.Mutex, the one lock primitive.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swock-machine", targets: ["swock-machine"]),
        .library(name: "SSHKit", targets: ["SSHKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // Fleet files (`create -f fleet.yaml`): YAML is what ops teams write inventories in.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Low-level helpers every target may use: path text, shell quoting, file locks,
        // off-pool threads, deadlines, async gates, errno text. Depends on nothing.
        .target(name: "SwockSupport"),
        // libcrypto, libssl and libssh loaded on first use (dlopen behind trampolines), so verbs
        // that never reach a host do not load them: the program links against neither library.
        .target(name: "CLazyLink", linkerSettings: [.linkedLibrary("dl")]),
        // libssh 0.10 (Debian's libssh-dev), imported through a tiny module map: declarations
        // only (no `link`), the functions come from CLazyLink.
        .systemLibrary(name: "CLibSSH"),
        // A small blocking mutual-TLS client on OpenSSL (libssl-dev), used by EngineAPI.
        .target(name: "CTLS", dependencies: ["CLazyLink"]),
        // The SSH layer: sessions on dedicated threads, host-key policy, exec, SFTP, PTY shell.
        .target(
            name: "SSHKit",
            dependencies: [
                "CLibSSH", "CLazyLink", "SwockSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The shell it runs on hosts (RemoteScript; checked by shellcheck in scripts/lint).
            resources: [
                .embedInCode("Scripts/install-files.sh"), .embedInCode("Scripts/install-staged.sh"), .embedInCode("Scripts/root-access.sh"),
            ]
        ),
        // Local CA, client and server certificates (swift-certificates / swift-crypto).
        .target(
            name: "SwockPKI",
            dependencies: [
                "SwockSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // Docker Engine API over mutual TLS, with per-host API version negotiation.
        .target(
            name: "EngineAPI",
            dependencies: [
                "CTLS", "SwockSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Go's gob encoding and a net/rpc client over HTTP CONNECT: the wire of Docker Machine's
        // driver plugins. Depends on nothing.
        .target(name: "GoRPC"),
        // The product's own layers, lowest first. Each target depends only on targets listed
        // before it (docs/architecture.md draws this graph; ArchitectureTests holds the two together).

        // Fan-out, local processes, TCP probing, line splitting, per-host outcomes: helpers with
        // no product knowledge.
        .target(name: "SwockRuntime", dependencies: ["SwockSupport"]),
        // The store on disk: layout, machine records, atomic writes, leftovers, the store's CA.
        .target(name: "SwockStore", dependencies: ["SwockSupport", "SwockPKI"]),
        // Drivers: what makes and owns the host a machine lives on (generic, none, local VMs,
        // Docker Machine's driver plugins). Provisioning sits on top of them.
        .target(name: "SwockDrivers", dependencies: ["SwockSupport", "SwockRuntime", "SwockStore", "SSHKit", "EngineAPI", "GoRPC"]),
        // One remote host, reached over SSH: sessions for a record, the Engine API route and
        // tunnels, host facts.
        .target(
            name: "SwockRemote",
            dependencies: [
                "SwockSupport", "SwockRuntime", "SwockStore", "SSHKit", "EngineAPI",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Scripts/host-probe.sh")]
        ),
        // dockerd on a host: init systems, configuration, install plans, certificates, readiness.
        .target(
            name: "SwockEngine",
            dependencies: [
                "SwockSupport", "SwockStore", "SwockRemote", "SSHKit", "EngineAPI", "SwockPKI",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("Scripts/systemd.sh"), .embedInCode("Scripts/service.sh"),
                .embedInCode("Scripts/no-init.sh"), .embedInCode("Scripts/own-files.sh"), .embedInCode("Scripts/unix-socket-wait.sh"),
                .embedInCode("Scripts/daemon-json.sh"), .embedInCode("Scripts/engine-packages.sh"),
                .embedInCode("Scripts/install-script.sh"), .embedInCode("Scripts/engine-bundle.sh"),
            ]
        ),
        // Turning a host into a machine (create, provision, rm) and fleet files.
        .target(
            name: "SwockProvision",
            dependencies: [
                "SwockSupport", "SwockStore", "SwockDrivers", "SwockRemote", "SwockEngine", "SSHKit", "EngineAPI", "SwockPKI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [
                .embedInCode("Scripts/authorize-key.sh"), .embedInCode("Scripts/revoke-key.sh"), .embedInCode("Scripts/set-hostname.sh"),
                .embedInCode("Scripts/run-provision-script.sh"),
            ]
        ),
        // Local client work: status, ls fields/filters/templates, env, docker contexts, scp.
        .target(
            name: "SwockClient",
            dependencies: [
                "SwockSupport", "SwockRuntime", "SwockStore", "SwockDrivers", "SwockRemote", "SSHKit", "EngineAPI", "SwockPKI",
            ]
        ),
        // Moving machines between stores (export, import).
        .target(
            name: "SwockInventory",
            dependencies: ["SwockSupport", "SwockStore", "SwockRemote", "SwockPKI"]
        ),
        // Swarm mode on the machines' daemons.
        .target(
            name: "SwockSwarm",
            dependencies: ["SwockSupport", "SwockRuntime", "SwockStore", "SwockRemote", "SwockEngine", "SwockProvision", "EngineAPI"]
        ),
        // Many machines at once: exec, docker, create -f, lifecycle; machine selection.
        .target(
            name: "SwockFleet",
            dependencies: [
                "SwockSupport", "SwockRuntime", "SwockStore", "SwockDrivers", "SwockRemote", "SwockEngine", "SwockProvision",
                "SwockClient", "SSHKit",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One file per subcommand.
        .target(
            name: "SwockCommands",
            dependencies: [
                "SwockSupport", "SwockRuntime", "SwockStore", "SwockDrivers", "SwockRemote", "SwockEngine", "SwockProvision",
                "SwockClient", "SwockInventory", "SwockSwarm", "SwockFleet",
                "SSHKit", "EngineAPI", "SwockPKI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "swock-machine", dependencies: ["SwockCommands"]),

        // Test support: boots and addresses hosts of the local fleet (machines/fleet).
        .target(name: "FleetSupport", path: "Tests/FleetSupport"),
        .testTarget(name: "SSHKitTests", dependencies: ["SSHKit", "FleetSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "SwockSupportTests", dependencies: ["SwockSupport"]),
        // The gob codec and net/rpc framing on bytes Go produced (Tests/Fixtures/gob), and the
        // plugin driver against a plugin written in Go (Tests/Fixtures/plugin).
        .testTarget(name: "GoRPCTests", dependencies: ["GoRPC", "SwockDrivers", "SwockStore", "FleetSupport"]),
        .testTarget(name: "SwockPKITests", dependencies: ["SwockPKI"]),
        .testTarget(name: "EngineAPITests", dependencies: ["EngineAPI", "CTLS", "SwockPKI", "SwockSupport", "FleetSupport"]),
        .testTarget(
            name: "SwockCommandsTests",
            dependencies: [
                "SwockCommands", "SwockDrivers", "SwockSupport", "SwockRuntime", "SwockStore", "SSHKit", "EngineAPI", "SwockProvision",
                "SwockRemote", "SwockEngine", "SwockClient", "SwockInventory",
                "SwockSwarm", "SwockFleet", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Unit tests of the product layers (SwockRuntime ... SwockFleet).
        .testTarget(
            name: "SwockCoreTests",
            dependencies: [
                "SwockSupport", "SwockRuntime", "SwockStore", "SwockDrivers", "SwockRemote", "SwockEngine", "SwockProvision",
                "SwockClient", "SwockInventory", "SwockSwarm", "SwockFleet", "SSHKit", "SwockPKI", "EngineAPI", "FleetSupport",
            ]
        ),
        // docs/architecture.md's target graph against this file; every import declared. No product code.
        .testTarget(name: "ArchitectureTests"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["swock-machine", "SwockStore", "SwockInventory", "SwockPKI", "SwockSupport", "FleetSupport"]),
    ]
)
