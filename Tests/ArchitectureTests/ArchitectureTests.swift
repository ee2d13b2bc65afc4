import Foundation
import Testing

/// Holds the architecture to the code: the target graph in Package.swift must be the graph
/// docs/architecture.md writes down (its "Target graph" table), the table lists targets lowest
/// first (every arrow points up the table, so down the layers), and no target's sources import a
/// module the target does not declare (SwiftPM would let a transitive one through).
/// Depends on no product code: it reads the manifest (`swift package dump-package`) and the files.
struct ArchitectureTests {
    @Test func docsDrawThePackageGraph() throws {
        let package = try Manifest.load()
        let docs = try DocGraph.parse(String(contentsOfFile: Repo.root + "/docs/architecture.md", encoding: .utf8))
        let problems =
            Architecture.graphDifferences(package: package.graph, docs: docs.graph)
            + Architecture.orderProblems(docs)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func everyTargetDeclaresWhatItImports() throws {
        let package = try Manifest.load()
        var problems: [String] = []
        for target in package.targets {
            for file in try Repo.swiftFiles(under: Repo.root + "/" + target.path) {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                for module in Architecture.importedModules(text)
                where !Architecture.systemModules.contains(module) && module != target.name && !target.dependencies.contains(module) {
                    problems.append(
                        "\(file.dropFirst(Repo.root.count + 1)) imports \(module), which target \(target.name) does not declare in Package.swift"
                    )
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    // The checks themselves: each catches what it is for.

    @Test func aDifferenceIsNamed() {
        let problems = Architecture.graphDifferences(
            package: ["A": [], "B": ["A"], "C": ["B"]],
            docs: ["A": [], "B": ["A", "C"], "D": []]
        )
        #expect(
            problems == [
                "C: in Package.swift, missing from docs/architecture.md",
                "D: in docs/architecture.md, not a target in Package.swift",
                "B: docs/architecture.md says it depends on C, Package.swift does not",
            ])
    }

    @Test func anArrowUpTheLayersIsNamed() throws {
        let doc = try DocGraph.parse(
            """
            ## Target graph

            | target | depends on |
            |---|---|
            | `Low` | — |
            | `High` | `Low`, `Mid` |
            | `Mid` | `Low` |
            """)
        #expect(doc.order == ["Low", "High", "Mid"])
        #expect(doc.graph == ["Low": [], "High": ["Low", "Mid"], "Mid": ["Low"]])
        #expect(Architecture.orderProblems(doc) == ["High depends on Mid, which the table lists later (list targets lowest first)"])
    }

    @Test func importsInEveryForm() {
        let q = String(repeating: "\"", count: 3)
        let text = """
            import Foundation
            @testable import SwockStore
            internal import Yams
            @preconcurrency import Logging
            import struct SSHKit.SSHTarget
            #if canImport(Glibc)
              import Glibc
            #endif
            // import NotThis
            let important = "import NorThis"
            let help = \(q)
                import NorThisInAString
                \(q)
            /* a comment
            import NorThisInAComment
            */
            import EngineAPI
            """
        #expect(Architecture.importedModules(text) == ["Foundation", "SwockStore", "Yams", "Logging", "SSHKit", "Glibc", "EngineAPI"])
    }
}

enum Architecture {
    /// Modules of the toolchain and the system, imported without a declared dependency.
    static let systemModules: Set<String> = [
        "Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin",
        "Synchronization", "os", "Swift", "_Concurrency", "Testing", "XCTest",
    ]

    /// The module of every `import` line (any attributes, access level or import kind); lines
    /// inside multi-line string literals and block comments are text, not imports.
    static func importedModules(_ text: String) -> [String] {
        let pattern =
            /^\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_]\w*)/
        var inString = false, inComment = false
        var modules: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let wasText = inString || inComment
            if line.ranges(of: "\"\"\"").count % 2 == 1 { inString.toggle() }
            if !inString {
                if line.trimmingCharacters(in: .whitespaces).hasPrefix("/*") && !line.contains("*/") { inComment = true }
                if inComment && line.contains("*/") { inComment = false }
            }
            if wasText { continue }
            if let m = try? pattern.prefixMatch(in: line) { modules.append(String(m.1)) }
        }
        return modules
    }

    static func graphDifferences(package: [String: Set<String>], docs: [String: Set<String>]) -> [String] {
        var problems: [String] = []
        for name in package.keys.sorted() where docs[name] == nil {
            problems.append("\(name): in Package.swift, missing from docs/architecture.md")
        }
        for name in docs.keys.sorted() where package[name] == nil {
            problems.append("\(name): in docs/architecture.md, not a target in Package.swift")
        }
        for name in package.keys.sorted() {
            guard let real = package[name], let drawn = docs[name] else { continue }
            for d in real.subtracting(drawn).sorted() {
                problems.append("\(name): Package.swift says it depends on \(d), docs/architecture.md does not")
            }
            for d in drawn.subtracting(real).sorted() {
                problems.append("\(name): docs/architecture.md says it depends on \(d), Package.swift does not")
            }
        }
        return problems
    }

    /// The table lists targets lowest first: a target may depend only on targets above its row
    /// (or on modules of other packages, which are not rows).
    static func orderProblems(_ doc: DocGraph) -> [String] {
        var problems: [String] = []
        for (i, name) in doc.order.enumerated() {
            for d in (doc.graph[name] ?? []).sorted() {
                if let j = doc.order.firstIndex(of: d), j >= i {
                    problems.append(
                        "\(name) depends on \(d), which the table lists \(j == i ? "as itself" : "later") (list targets lowest first)")
                }
            }
        }
        return problems
    }
}

/// The "Target graph" table of docs/architecture.md: `| target | depends on |`, one row per
/// target, names in backticks, "—" for none.
struct DocGraph {
    var order: [String] = []
    var graph: [String: Set<String>] = [:]

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ markdown: String) throws -> DocGraph {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let heading = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "## Target graph" }) else {
            throw Problem(description: "docs/architecture.md has no \"## Target graph\" section with the | target | depends on | table")
        }
        var doc = DocGraph()
        var inTable = false
        for line in lines[(heading + 1)...] {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("## ") { break }
            guard t.hasPrefix("|") else {
                if inTable { break } else { continue }
            }
            let cells = t.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2 else { throw Problem(description: "Target graph row \"\(t)\" does not have two cells") }
            if !inTable {
                inTable = true  // the header row
                continue
            }
            if cells[0].allSatisfy({ $0 == "-" || $0 == ":" }) { continue }
            let name = cells[0].replacingOccurrences(of: "`", with: "")
            guard doc.graph[name] == nil else { throw Problem(description: "Target graph lists \(name) twice") }
            let deps =
                cells[1] == "—" || cells[1].isEmpty
                ? []
                : cells[1].split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "")
                }
            doc.order.append(name)
            doc.graph[name] = Set(deps)
        }
        guard !doc.order.isEmpty else { throw Problem(description: "the Target graph table of docs/architecture.md has no rows") }
        return doc
    }
}

/// What Package.swift declares, from `swift package dump-package`.
struct Manifest {
    struct Target {
        var name: String
        var isTest: Bool
        var path: String
        /// Targets and products it depends on, by module name.
        var dependencies: Set<String>
    }

    var targets: [Target]

    /// The graph the docs draw: every target that is not a test, with its direct dependencies.
    var graph: [String: Set<String>] {
        Dictionary(uniqueKeysWithValues: targets.filter { !$0.isTest }.map { ($0.name, $0.dependencies) })
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static func load() throws -> Manifest {
        // Its own scratch directory: the package's .build is locked by the `swift test` running us.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("architecture-tests-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["swift", "package", "--package-path", Repo.root, "--scratch-path", scratch, "dump-package"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Problem(description: "swift package dump-package failed (\(p.terminationStatus)): \(errText)")
        }
        let dump = try JSONDecoder().decode(Dump.self, from: data)
        return Manifest(
            targets: dump.targets.map { t in
                let isTest = t.type == "test"
                let deps = t.dependencies.compactMap { d -> String? in
                    (d.byName ?? d.target ?? d.product)?.first ?? nil
                }
                return Target(
                    name: t.name, isTest: isTest, path: t.path ?? ((isTest ? "Tests/" : "Sources/") + t.name), dependencies: Set(deps))
            })
    }

    private struct Dump: Decodable {
        struct Target: Decodable {
            var name: String
            var type: String
            var path: String?
            var dependencies: [Dependency]
        }

        /// `{"byName": ["X", null]}`, `{"target": ["X", null]}` or `{"product": ["X", "package", null, null]}`.
        struct Dependency: Decodable {
            var byName: [String?]?
            var target: [String?]?
            var product: [String?]?
        }

        var targets: [Target]
    }
}

enum Repo {
    /// The package root: this file is Tests/ArchitectureTests/ArchitectureTests.swift.
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func swiftFiles(under directory: String) throws -> [String] {
        guard let e = FileManager.default.enumerator(atPath: directory) else {
            throw Manifest.Problem(description: "cannot read \(directory)")
        }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted().map { directory + "/" + $0 }
    }
}
