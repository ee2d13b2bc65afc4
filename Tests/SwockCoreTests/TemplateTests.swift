import Foundation
import Testing

@testable import SwockClient
@testable import SwockStore

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
        #expect(
            throws: Template.Error(
                description: "template: unknown field .Nope; known fields: .DriverName .Engine.Version .Labels.a_b .Name .URL")
        ) {
            try t.render(values)
        }
    }

    @Test func unclosed() {
        #expect(throws: Template.Error(description: "template: \"{{\" without a closing \"}}\"")) { try Template("{{.Name") }
        #expect(throws: Template.Error.self) { try Template("{{.Name}} and {{.Driver") }
    }

    @Test(arguments: [
        "{{Name}}", "{{.Na me}}", "{{}}", "{{range .Labels}}", "{{.Name | nope}}", "{{.Name .URL}}",
        "{{.Name | .URL}}", "{{upper (.Name}}", "{{upper .Name)}}", "{{\"open}}", "{{.a..b}}", "{{printf \"%s\" .Name}}",
    ])
    func refusedWithOneLine(text: String) {
        let e = #expect(throws: Template.Error.self) { try Template(text) }
        #expect(e?.description.hasPrefix("template: ") == true && e?.description.contains("\n") == false, "\(String(describing: e))")
    }

    @Test func unknownFunctionNamesTheOnesThereAre() {
        let e = #expect(throws: Template.Error.self) { try Template("{{ .Name | shout }}") }
        #expect(
            e?.description
                == "template: function \"shout\" not defined in \"{{.Name | shout}}\"; the functions are index, join, json, len, lower, pad, prettyjson, println, split, title, truncate, upper"
        )
    }

    @Test func controlStructuresSaySo() {
        let e = #expect(throws: Template.Error.self) { try Template("{{range .Labels}}x{{end}}") }
        #expect(e?.description.contains("range is not supported here") == true)
    }

    // The docker CLI's functions, with what it prints for the same template (docker 28,
    // `docker ps --format` / `docker inspect -f` on equivalent values).
    @Test(arguments: [
        ("{{.Name | upper}}", "WEB1"),
        ("{{upper .Name}}", "WEB1"),
        ("{{lower \"ABC-d\"}}", "abc-d"),
        ("{{title \"hello wide world\"}}", "Hello Wide World"),
        ("{{title \"don't stop-me now_x\"}}", "Don't Stop-Me Now_x"),
        ("{{split .URL \":\"}}", "[tcp //10.0.0.5 2376]"),
        ("{{join (split .URL \":\") \",\"}}", "tcp,//10.0.0.5,2376"),
        ("{{json .Name}}", "\"web1\""),
        ("{{json .Labels}}", "{\"a_b\":\"x\"}"),
        ("{{json .Engine}}", "{\"Version\":\"20.10.24\"}"),
        ("{{.Engine}}", "map[Version:20.10.24]"),
        ("{{json \"a<b>&\\\"\\n\"}}", "\"a<b>&\\\"\\n\""),
        ("{{pad .Name 2 1}}|", "  web1 |"),
        ("{{truncate .URL 3}}", "tcp"),
        ("{{truncate .Name 10}}", "web1"),
        ("{{println .Name .DriverName}}", "web1 generic\n"),
        ("{{index .Labels \"a_b\"}}", "x"),
        ("{{len .Name}}", "4"),
        ("{{len (split .URL \":\")}}", "3"),
        ("{{`raw \\n`}}", "raw \\n"),
        ("a {{- .Name -}} b", "aweb1b"),
        ("{{true}} {{nil}} {{42}}", "true <no value> 42"),
    ])
    func functions(text: String, expected: String) throws {
        #expect(try Template(text).render(values) == expected)
    }

    @Test func wrongArguments() throws {
        #expect(throws: Template.Error.self) { try Template("{{join .Name}}").render(values) }
        #expect(throws: Template.Error.self) { try Template("{{join .Name \",\"}}").render(values) }
        #expect(throws: Template.Error.self) { try Template("{{upper .Engine}}").render(values) }
        #expect(throws: Template.Error.self) { try Template("{{index .Labels 3}}").render(values) }
    }

    @Test func jsonIsGoEncoding() {
        let v: TemplateValue = .map([
            "b": .list([.int(1), .bool(false), .null]), "a": .string("\u{1}\u{2028}<"), "e": .map([:]), "l": .list([]),
        ])
        #expect(v.json() == #"{"a":"\u0001\u2028<","b":[1,false,null],"e":{},"l":[]}"#)
        #expect(
            v.json(indent: "    ") == """
                {
                    "a": "\\u0001\\u2028<",
                    "b": [
                        1,
                        false,
                        null
                    ],
                    "e": {},
                    "l": []
                }
                """)
    }

    @Test func headerOfEachAction() throws {
        let t = try Template("{{.Name | upper}}\\t{{json .Engine.Version}}\\t{{\"x\"}}")
        #expect(t.renderHeader { $0.uppercased() } == "NAME\tENGINE.VERSION\t")
    }

    @Test func withMachineFields() throws {
        let dir = try TempDir("fields")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        let c = sampleConfig("web1", labels: ["zone": "b", "app": "x"])
        let f = machineFields(config: c, store: store, status: MachineStatus(state: .running, engineVersion: "v20.10.24"), active: true)
        #expect(
            try Template("{{.Name}} {{.Active}} {{.State}} {{.DockerVersion}} {{.Labels}} {{.Labels.zone}} {{.SSHKeyPath}}").render(f)
                == "web1 * Running v20.10.24 app=x,zone=b b \(dir.path)/machines/web1/id_ed25519")
        let offline = machineFields(config: c, store: store)
        #expect(offline["State"] == nil && offline["Active"] == "-")
        #expect(offline["Driver"] == "generic" && offline["Driver.IPAddress"] == nil && offline["SSHPort"] == String(c.ssh.port))
        // Docker Machine's templates: the driver's fields, the whole record as JSON.
        let data = machineTemplateData(config: c, store: store)
        #expect(
            try Template("{{.Driver}} {{.Driver.IPAddress}} {{.Driver.SSHPort}} {{.Labels}} {{.TLS.SANs}}").render(data)
                == "generic \(c.address) \(c.ssh.port) app=x,zone=b \(c.tls.serverSANs.joined(separator: ","))")
        #expect(try Template("{{json .Labels}}").render(data) == #"{"app":"x","zone":"b"}"#)
        let pretty = try Template("{{prettyjson .}}").render(data)
        let decoded = try JSONSerialization.jsonObject(with: Data(pretty.utf8)) as? [String: Any]
        #expect((decoded?["Driver"] as? [String: Any])?["SSHPort"] as? Int == c.ssh.port)
        #expect(pretty.contains("\n    \"Name\": \"web1\","))
    }
}

@Suite struct TableLayoutTests {
    @Test func alignsColumns() {
        let out = TableLayout.render([
            ["NAME", "ACTIVE", "DRIVER", "STATE"],
            ["web1", "*", "generic", "Running"],
            ["a-much-longer-name", "-", "generic", ""],
        ])
        #expect(
            out == """
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
