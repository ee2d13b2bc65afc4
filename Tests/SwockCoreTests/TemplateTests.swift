import Foundation
@testable import SwockClient
@testable import SwockStore
import Testing

@Suite struct TemplateTests {
    let values = ["Name": "web1", "DriverName": "generic", "Engine.Version": "20.10.24", "URL": "tcp://10.0.0.5:2376", "Labels.a_b": "x"]

    @Test(arguments: [
        ("{{.Name}}", "web1"),
        ("{{ .Name }}", "web1"),
        ("{{.Name}}\\t{{.DriverName}}\\n", "web1\tgeneric\n"),
        ("name={{.Name}} v={{.Engine.Version}}", "name=web1 v=20.10.24"),
        ("{{.Labels.a_b}}{{.Name}}", "xweb1"),
        ("no fields at all", "no fields at all"),
        ("", ""),
        ("}} stray {", "}} stray {"),
        ("{{.URL}}", "tcp://10.0.0.5:2376"),
    ])
    func renders(text: String, expected: String) throws {
        #expect(try Template(text).render(values) == expected)
    }

    @Test func fieldsInOrder() throws {
        #expect(try Template("{{.Name}} {{.Engine.Version}} {{.Name}}").fields == ["Name", "Engine.Version", "Name"])
    }

    @Test func unknownFieldListsKnownOnes() throws {
        let t = try Template("{{.Nope}}")
        #expect(throws: Template.Error(description: "template: unknown field .Nope; known fields: .DriverName .Engine.Version .Labels.a_b .Name .URL")) {
            try t.render(values)
        }
    }

    @Test func unclosed() {
        #expect(throws: Template.Error(description: "template: \"{{\" without a closing \"}}\"")) { try Template("{{.Name") }
        #expect(throws: Template.Error.self) { try Template("{{.Name}} and {{.Driver") }
    }

    @Test(arguments: ["{{.Name | upper}}", "{{json .}}", "{{.}}", "{{printf \"%s\" .Name}}", "{{Name}}", "{{.Na me}}", "{{}}", "{{range .Labels}}"])
    func notAField(text: String) {
        let e = #expect(throws: Template.Error.self) { try Template(text) }
        #expect(e?.description.contains("is not a field; write fields as {{.Name}} (pipelines and functions are not supported)") == true, "\(String(describing: e))")
    }

    @Test func pipelineMessageQuotesTheInput() {
        let e = #expect(throws: Template.Error.self) { try Template("{{ .Name | upper }}") }
        #expect(e?.description == "template: \"{{.Name | upper}}\" is not a field; write fields as {{.Name}} (pipelines and functions are not supported)")
    }

    @Test func withMachineFields() throws {
        let dir = try TempDir("fields")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let c = sampleConfig("web1", labels: ["zone": "b", "app": "x"])
        let f = machineFields(config: c, store: store, status: MachineStatus(state: .running, engineVersion: "v20.10.24"), active: true)
        #expect(try Template("{{.Name}} {{.Active}} {{.State}} {{.DockerVersion}} {{.Labels}} {{.Labels.zone}} {{.SSHKeyPath}}").render(f)
            == "web1 * Running v20.10.24 app=x,zone=b b \(dir.path)/machines/web1/id_ed25519")
        let offline = machineFields(config: c, store: store)
        #expect(offline["State"] == nil && offline["Active"] == "-")
    }
}

@Suite struct TableLayoutTests {
    @Test func alignsColumns() {
        let out = TableLayout.render([
            ["NAME", "ACTIVE", "DRIVER", "STATE"],
            ["web1", "*", "generic", "Running"],
            ["a-much-longer-name", "-", "generic", ""],
        ])
        #expect(out == """
            NAME                 ACTIVE   DRIVER    STATE
            web1                 *        generic   Running
            a-much-longer-name   -        generic

            """)
    }

    @Test func paddingAndRaggedRowsAndUnicode() {
        #expect(TableLayout.render([["é", "x"], ["ab", "y"]], padding: 1) == "é  x\nab y\n")
        #expect(TableLayout.render([["a", "b", "c"], ["long"]]) == "a      b   c\nlong\n")
        #expect(TableLayout.render([]) == "")
    }
}
