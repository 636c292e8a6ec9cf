package storetest

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ErrNoPostgres is returned by Start when no PostgreSQL server binaries are
// installed.
var ErrNoPostgres = errors.New("storetest: PostgreSQL is not installed (initdb and pg_ctl not found; `make deps` installs the postgresql package)")

// Cluster is a running PostgreSQL server owned by the test binary.
type Cluster struct {
	dir  string // temporary directory: data/, the socket, log
	bin  string // directory holding initdb, pg_ctl, createdb
	port int
	as   string // user to run the server binaries as, "" for the current one

	mu   sync.Mutex
	next int
}

// findBin returns the directory of the newest Debian PostgreSQL install, or
// the one on PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("storetest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start creates and starts a cluster without fsync, for tests. Call Stop
// when done (in TestMain, after m.Run).
func Start() (*Cluster, error) { return StartWith(Options{}) }

// Options tune a cluster.
type Options struct {
	// Durable keeps fsync and full page writes on, as production runs:
	// for benchmarks, whose figures must not rest on losing commits.
	Durable bool
}

// StartWith creates and starts a cluster.
func StartWith(opt Options) (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tixgate-pg-")
	if err != nil {
		return nil, fmt.Errorf("storetest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("storetest: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("storetest: %w", err)
		}
		c.as = "postgres"
	}
	if err := c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A port taken between freePort and the server's bind fails the start;
	// try a few.
	for try := 0; ; try++ {
		if c.port, err = freePort(); err != nil {
			break
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, dir)
		if !opt.Durable {
			opts += " -c fsync=off -c full_page_writes=off"
		}
		if err = c.run("pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err == nil || try == 2 {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of the server binaries, as the postgres user when root.
func (c *Cluster) run(name string, args ...string) error {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("storetest: %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// NewDatabase creates an empty database for one test and returns its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.next++
	name := fmt.Sprintf("t%d", c.next)
	c.mu.Unlock()
	if err := c.run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", name); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop")
	if rerr := os.RemoveAll(c.dir); err == nil && rerr != nil {
		err = fmt.Errorf("storetest: %w", rerr)
	}
	return err
}

// Main is a package's TestMain around one cluster: it starts one unless
// -short (benchmarks get a durable one), points *c at it (nil with -short),
// runs the tests and stops it, and exits.
func Main(m *testing.M, c **Cluster) {
	flag.Parse()
	if !testing.Short() {
		bench := flag.Lookup("test.bench").Value.String() != ""
		var err error
		if *c, err = StartWith(Options{Durable: bench}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if *c != nil {
		if err := (*c).Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
