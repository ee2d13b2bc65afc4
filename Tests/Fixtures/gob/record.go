// Command record writes the gob bytes Go's own encoding/gob and net/rpc produce for the
// messages swock-machine's GoRPC target speaks with Docker Machine driver plugins. Each fixture
// is made in a fresh process (gob numbers user types per process, in the order it first sends
// them), so each file is the stream one new connection would carry. Standard library only.
//
//	go run record.go DIR    writes DIR/NAME.hex for every fixture
//
// The types mirror libmachine's (github.com/docker/machine): rpcdriver.RPCFlags, the four
// mcnflag flag types, registered under the names libmachine's gob.Register gives them.
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

type RPCFlags struct{ Values map[string]interface{} }

type StringFlag struct {
	Name, Usage, EnvVar, Value string
}
type StringSliceFlag struct {
	Name, Usage, EnvVar string
	Value               []string
}
type IntFlag struct {
	Name, Usage, EnvVar string
	Value               int
}
type BoolFlag struct{ Name, Usage, EnvVar string }

// Flag stands for mcnflag.Flag (an interface with methods; gob only needs it to be an interface).
type Flag interface{}

// DriverOptions stands for drivers.DriverOptions: the client sends a pointer to this interface.
type DriverOptions interface{}

func init() {
	gob.RegisterName("*rpcdriver.RPCFlags", new(RPCFlags))
	gob.RegisterName("*mcnflag.IntFlag", new(IntFlag))
	gob.RegisterName("*mcnflag.StringFlag", new(StringFlag))
	gob.RegisterName("*mcnflag.StringSliceFlag", new(StringSliceFlag))
	gob.RegisterName("*mcnflag.BoolFlag", new(BoolFlag))
}

type call struct {
	method string
	body   interface{}
}

// client encodes what net/rpc's client codec writes: a Request header, then the body.
func client(calls ...call) []byte {
	var b bytes.Buffer
	enc := gob.NewEncoder(&b)
	for i, c := range calls {
		must(enc.Encode(&rpc.Request{ServiceMethod: c.method, Seq: uint64(i)}))
		must(enc.Encode(c.body))
	}
	return b.Bytes()
}

type reply struct {
	method string
	err    string
	body   interface{}
}

// server encodes what net/rpc's server codec writes: a Response header, then the reply (an
// empty struct when the method failed, as net/rpc sends).
func server(replies ...reply) []byte {
	var b bytes.Buffer
	enc := gob.NewEncoder(&b)
	for i, r := range replies {
		must(enc.Encode(&rpc.Response{ServiceMethod: r.method, Seq: uint64(i), Error: r.err}))
		must(enc.Encode(r.body))
	}
	return b.Bytes()
}

func opts(k string, v interface{}) *DriverOptions {
	var o DriverOptions = RPCFlags{Values: map[string]interface{}{k: v}}
	return &o
}

const svc = "RPCServerDriver."

var fixtures = map[string]func() []byte{
	// Client side, byte for byte what swock-machine must send.
	"client-getversion": func() []byte { return client(call{svc + "GetVersion", struct{}{}}) },
	"client-session": func() []byte {
		return client(
			call{svc + "GetVersion", struct{}{}},
			call{svc + "SetConfigRaw", []byte(`{"MachineName":"p-m1","StorePath":"/s"}`)},
			call{svc + "GetCreateFlags", struct{}{}},
			call{svc + "SetConfigFromFlags", opts("generic-ip-address", "10.231.0.5")},
			call{svc + "SetConfigFromFlags", opts("generic-ssh-port", 22)},
			call{svc + "SetConfigFromFlags", opts("engine-opt", []string{"a=1", "b=2"})},
			call{svc + "SetConfigFromFlags", opts("swarm", true)},
			call{svc + "SetConfigFromFlags", opts("engine-label", []string(nil))},
			call{svc + "Heartbeat", struct{}{}},
			call{svc + "Close", struct{}{}},
		)
	},
	// Several values in one map: Go writes map entries in random order, so this one is
	// decoded, not compared byte for byte.
	"client-flags-many": func() []byte {
		var o DriverOptions = RPCFlags{Values: map[string]interface{}{
			"generic-ip-address": "10.231.0.5", "generic-ssh-port": 2222,
			"engine-opt": []string{"x"}, "swarm-master": false, "negative": -300,
		}}
		return client(call{svc + "SetConfigFromFlags", &o})
	},
	// Server side: what swock-machine must read.
	"server-session": func() []byte {
		flags := []Flag{
			StringFlag{Name: "generic-ip-address", Usage: "IP Address of machine", EnvVar: "GENERIC_IP_ADDRESS"},
			IntFlag{Name: "generic-ssh-port", Usage: "SSH port", EnvVar: "GENERIC_SSH_PORT", Value: 22},
			StringSliceFlag{Name: "fixture-tag", Usage: "tags", Value: []string{"a", "b"}},
			BoolFlag{Name: "fixture-hang", Usage: "hang in create"},
			IntFlag{Name: "fixture-big", Value: -70000},
		}
		return server(
			reply{svc + "GetVersion", "", 1},
			reply{svc + "GetConfigRaw", "", []byte(`{"IPAddress":"10.231.0.5"}`)},
			reply{svc + "GetCreateFlags", "", flags},
			reply{svc + "GetState", "", 4}, // state.State is an int: Stopped
			reply{svc + "GetSSHPort", "", 22},
			reply{svc + "GetIP", "", "10.231.0.5"},
			reply{svc + "Create", "Error creating machine: boom", struct{}{}},
			reply{svc + "Heartbeat", "", struct{}{}},
			reply{svc + "GetSSHKeyPath", "", ""},
		)
	},
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-one" {
		os.Stdout.Write(fixtures[os.Args[2]]())
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: record DIR")
		os.Exit(2)
	}
	self, err := os.Executable()
	must(err)
	names := make([]string, 0, len(fixtures))
	for n := range fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out, err := exec.Command(self, "-one", n).Output()
		must(err)
		text := hex.EncodeToString(out)
		var lines []string
		for len(text) > 64 {
			lines = append(lines, text[:64])
			text = text[64:]
		}
		lines = append(lines, text)
		must(os.WriteFile(filepath.Join(os.Args[1], n+".hex"), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
}
