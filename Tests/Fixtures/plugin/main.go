// Command docker-machine-driver-fixture is a Docker Machine driver plugin written with Go's
// standard library only, for swock-machine's tests. It serves what libmachine's plugins serve
// (github.com/docker/machine libmachine/drivers/plugin and rpc): started with
// MACHINE_PLUGIN_TOKEN=42 it listens on 127.0.0.1, prints its address as its first line, and
// serves net/rpc over HTTP as the service RPCServerDriver with gob values, the flags as the
// gob-registered mcnflag types. It exits on Close, or when no heartbeat came for 60 s (10 s when Create is to hang).
//
// Its Create "makes" a host by taking the address of one that already exists (--fixture-host: a
// fleet host), so swock-machine's provisioning runs against a real host. The host's power state
// lives in a file of its own (as a cloud keeps it): STORE/machines/NAME/fixture-state.
// --fixture-fail crash|hang makes Create crash or never return; FIXTURE_FAIL, when set, is the
// mode Create follows instead (none: it works), so a machine whose create crashed can be
// provisioned again through a working plugin; FIXTURE_FAIL_REMOVE=crash makes Remove crash.
// FIXTURE_API_VERSION sets the version GetVersion answers.
package main

import (
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// How long the plugin waits for a heartbeat before it exits (libmachine's plugins: 10 s); 60 s
// unless Create is to hang (see SetConfigFromFlags).
var watchdogSeconds atomic.Int64

func init() { watchdogSeconds.Store(60) }

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

// Flag stands for mcnflag.Flag, DriverOptions for drivers.DriverOptions.
type Flag interface{}
type DriverOptions interface{}

type RPCFlags struct{ Values map[string]interface{} }

func init() {
	gob.RegisterName("*rpcdriver.RPCFlags", new(RPCFlags))
	gob.RegisterName("*mcnflag.IntFlag", new(IntFlag))
	gob.RegisterName("*mcnflag.StringFlag", new(StringFlag))
	gob.RegisterName("*mcnflag.StringSliceFlag", new(StringSliceFlag))
	gob.RegisterName("*mcnflag.BoolFlag", new(BoolFlag))
}

// Driver is what GetConfigRaw returns and SetConfigRaw takes: libmachine's BaseDriver fields,
// then the fixture's own.
type Driver struct {
	IPAddress      string
	MachineName    string
	SSHUser        string
	SSHPort        int
	SSHKeyPath     string
	StorePath      string
	SwarmMaster    bool
	SwarmHost      string
	SwarmDiscovery string
	Fail           string
	Tags           []string
}

type RPCServerDriver struct {
	d         Driver
	closeCh   chan bool
	heartbeat chan bool
}

// logCall appends the method's name to $FIXTURE_LOG, so tests see what was called.
func logCall(method string) {
	if p := os.Getenv("FIXTURE_LOG"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintln(f, method)
			f.Close()
		}
	}
}

func (r *RPCServerDriver) statePath() string {
	return filepath.Join(r.d.StorePath, "machines", r.d.MachineName, "fixture-state")
}

func (r *RPCServerDriver) GetVersion(_ *struct{}, reply *int) error {
	logCall("GetVersion")
	*reply = 1
	if v := os.Getenv("FIXTURE_API_VERSION"); v != "" {
		*reply, _ = strconv.Atoi(v)
	}
	return nil
}

func (r *RPCServerDriver) Close(_, _ *struct{}) error {
	logCall("Close")
	r.closeCh <- true
	return nil
}

func (r *RPCServerDriver) Heartbeat(_, _ *struct{}) error {
	logCall("Heartbeat")
	r.heartbeat <- true
	return nil
}

func (r *RPCServerDriver) GetCreateFlags(_ *struct{}, reply *[]Flag) error {
	logCall("GetCreateFlags")
	*reply = []Flag{
		StringFlag{Name: "fixture-host", Usage: "address of the existing host Create returns", EnvVar: "FIXTURE_HOST"},
		StringFlag{Name: "fixture-ssh-user", Usage: "SSH user", Value: "root"},
		IntFlag{Name: "fixture-ssh-port", Usage: "SSH port", Value: 22},
		StringFlag{Name: "fixture-ssh-key", Usage: "SSH private key file"},
		StringFlag{Name: "fixture-fail", Usage: "crash or hang in Create"},
		StringSliceFlag{Name: "fixture-tag", Usage: "a tag (repeatable)", Value: []string{"fixture"}},
		BoolFlag{Name: "fixture-verbose", Usage: "say more on stderr"},
	}
	return nil
}

func (r *RPCServerDriver) SetConfigRaw(data []byte, _ *struct{}) error {
	logCall("SetConfigRaw")
	if err := json.Unmarshal(data, &r.d); err != nil {
		return err
	}
	if r.d.Fail == "hang" {
		watchdogSeconds.Store(10) // as in SetConfigFromFlags
	}
	return nil
}

func (r *RPCServerDriver) GetConfigRaw(_ *struct{}, reply *[]byte) error {
	logCall("GetConfigRaw")
	b, err := json.Marshal(r.d)
	*reply = b
	return err
}

func (r *RPCServerDriver) SetConfigFromFlags(opts *DriverOptions, _ *struct{}) error {
	logCall("SetConfigFromFlags")
	f, ok := (*opts).(RPCFlags)
	if !ok {
		if p, isPtr := (*opts).(*RPCFlags); isPtr {
			f, ok = *p, true
		}
	}
	if !ok {
		return fmt.Errorf("flags of type %T", *opts)
	}
	r.d.IPAddress, _ = f.Values["fixture-host"].(string)
	r.d.SSHUser, _ = f.Values["fixture-ssh-user"].(string)
	r.d.SSHPort, _ = f.Values["fixture-ssh-port"].(int)
	r.d.SSHKeyPath, _ = f.Values["fixture-ssh-key"].(string)
	r.d.Fail, _ = f.Values["fixture-fail"].(string)
	if r.d.Fail == "hang" {
		// libmachine's own watchdog time, so the hang test shows the client's heartbeats keep
		// the plugin alive; otherwise a longer one, so a loaded CI machine never trips it.
		watchdogSeconds.Store(10)
	}
	r.d.Tags, _ = f.Values["fixture-tag"].([]string)
	r.d.SwarmMaster, _ = f.Values["swarm-master"].(bool)
	if r.d.IPAddress == "" {
		return errors.New("--fixture-host is required: the address of an existing host")
	}
	return nil
}

func (r *RPCServerDriver) PreCreateCheck(_, _ *struct{}) error { logCall("PreCreateCheck"); return nil }

func (r *RPCServerDriver) Create(_, _ *struct{}) error {
	logCall("Create")
	mode := r.d.Fail
	if m, set := os.LookupEnv("FIXTURE_FAIL"); set {
		mode = m
	}
	switch mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "fixture: crashing in Create as asked")
		os.Exit(3)
	case "hang":
		fmt.Fprintln(os.Stderr, "fixture: hanging in Create as asked")
		select {}
	}
	return r.setState("Running")
}

func (r *RPCServerDriver) setState(s string) error {
	if err := os.MkdirAll(filepath.Dir(r.statePath()), 0o700); err != nil {
		return err
	}
	return os.WriteFile(r.statePath(), []byte(s), 0o600)
}

var states = []string{"", "Running", "Paused", "Saved", "Stopped", "Stopping", "Starting", "Error", "Timeout"}

func (r *RPCServerDriver) GetState(_ *struct{}, reply *int) error {
	logCall("GetState")
	b, err := os.ReadFile(r.statePath())
	if err != nil {
		*reply = 0
		return nil
	}
	for i, s := range states {
		if s == string(b) {
			*reply = i
		}
	}
	return nil
}

func (r *RPCServerDriver) Start(_, _ *struct{}) error { logCall("Start"); return r.setState("Running") }
func (r *RPCServerDriver) Stop(_, _ *struct{}) error  { logCall("Stop"); return r.setState("Stopped") }
func (r *RPCServerDriver) Restart(_, _ *struct{}) error {
	logCall("Restart")
	return r.setState("Running")
}
func (r *RPCServerDriver) Kill(_, _ *struct{}) error { logCall("Kill"); return r.setState("Stopped") }
func (r *RPCServerDriver) Remove(_, _ *struct{}) error {
	logCall("Remove")
	if os.Getenv("FIXTURE_FAIL_REMOVE") == "crash" {
		fmt.Fprintln(os.Stderr, "fixture: crashing in Remove as asked")
		os.Exit(3)
	}
	if err := os.Remove(r.statePath()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func (r *RPCServerDriver) DriverName(_ *struct{}, reply *string) error {
	logCall("DriverName")
	*reply = "fixture"
	return nil
}
func (r *RPCServerDriver) GetMachineName(_ *struct{}, reply *string) error {
	logCall("GetMachineName")
	*reply = r.d.MachineName
	return nil
}
func (r *RPCServerDriver) GetIP(_ *struct{}, reply *string) error {
	logCall("GetIP")
	if r.d.IPAddress == "" {
		return errors.New("IP address is not set")
	}
	*reply = r.d.IPAddress
	return nil
}
func (r *RPCServerDriver) GetURL(_ *struct{}, reply *string) error {
	logCall("GetURL")
	*reply = "tcp://" + net.JoinHostPort(r.d.IPAddress, "2376")
	return nil
}
func (r *RPCServerDriver) GetSSHHostname(_ *struct{}, reply *string) error {
	logCall("GetSSHHostname")
	return r.GetIP(nil, reply)
}
func (r *RPCServerDriver) GetSSHPort(_ *struct{}, reply *int) error {
	logCall("GetSSHPort")
	*reply = r.d.SSHPort
	return nil
}
func (r *RPCServerDriver) GetSSHUsername(_ *struct{}, reply *string) error {
	logCall("GetSSHUsername")
	*reply = r.d.SSHUser
	return nil
}
func (r *RPCServerDriver) GetSSHKeyPath(_ *struct{}, reply *string) error {
	logCall("GetSSHKeyPath")
	*reply = r.d.SSHKeyPath
	return nil
}

func main() {
	if os.Getenv("MACHINE_PLUGIN_TOKEN") != "42" {
		fmt.Println("This is a Docker Machine plugin binary.")
		fmt.Println("Plugin binaries are not intended to be invoked directly.")
		os.Exit(1)
	}
	d := &RPCServerDriver{closeCh: make(chan bool), heartbeat: make(chan bool)}
	if err := rpc.RegisterName("RPCServerDriver", d); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rpc.HandleHTTP()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr())
	go http.Serve(l, nil)
	for {
		select {
		case <-d.closeCh:
			os.Exit(0)
		case <-d.heartbeat:
		case <-time.After(time.Duration(watchdogSeconds.Load()) * time.Second):
			fmt.Fprintf(os.Stderr, "fixture: no heartbeat for %d s, exiting\n", watchdogSeconds.Load())
			os.Exit(1)
		}
	}
}
