package main

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tixgate/tixgate/"

// repoPackages parses the non-test Go files of every package of the module
// and returns, per package directory, its imports and how many files carry
// a package doc comment.
func repoPackages(t *testing.T) (imports map[string]map[string]bool, docs map[string]int) {
	t.Helper()
	root := filepath.Join("..", "..")
	imports, docs = map[string]map[string]bool{}, map[string]int{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			imports[pkg][p] = true
		}
		if f.Doc != nil {
			docs[pkg]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports, docs
}

// Each dependency lives in one package, and the arrows of the layout point
// one way: ticket imports nothing of ours; scanner and ledger import only
// ticket; cluster imports ledger; edge and cmd sit on top.
func TestLayout(t *testing.T) {
	imports, docs := repoPackages(t)
	if len(imports) < 12 {
		t.Fatalf("found %d packages: the walk missed the module", len(imports))
	}
	owners := map[string][]string{
		"github.com/dgraph-io/badger/v4":      {"ledger"},
		"github.com/hashicorp/memberlist":     {"cluster"},
		"github.com/makiuchi-d/gozxing":       {"scanner"},
		"github.com/skip2/go-qrcode":          {"scanner"},
		"periph.io/x/":                        {"firmware"},
		"github.com/BurntSushi/toml":          {"ledger/manifest", "ticket/strict"},
		"gopkg.in/yaml.v3":                    {"ledger/manifest", "ticket/strict"},
		"github.com/go-json-experiment/json":  {"ticket/strict"},
		"github.com/prometheus/client_golang": {"edge", "central"},
		"github.com/chromedp/chromedp":        {}, // tests only
		"golang.org/x/crypto/argon2":          {"edge", "central/password"},
		"golang.org/x/time/rate":              {"central"},
		"github.com/wneessen/go-mail":         {"central/shop"},
		"github.com/emersion/go-smtp":         {"central/support"},
		"github.com/coder/websocket":          {"central/support"},
		"modernc.org/sqlite":                  {"central/store"},
		"github.com/jackc/pgx/v5":             {"central/store"},
		"github.com/pressly/goose/v3":         {"central/store"},
		"golang.org/x/perf/":                  {"cmd/benchtable"},
		"codeberg.org/go-pdf/fpdf":            {"edge/receipt", "central/storefront", "central/pdftext", "central/invoice", "central/report"},
		"github.com/stripe/stripe-go/v82":     {"central/pay"},
		"golang.org/x/text/encoding":          {"central/settle", "central/pay/paysim", "central/support"}, // the Chinese providers' GBK bills, mail in any charset
		"github.com/xuri/excelize/v2":         {"central/report"},
	}
	may := map[string][]string{ // packages of ours each may import
		"ticket":            nil,
		"ticket/keyfile":    {"ticket"},
		"pricing":           nil,
		"scanner":           {"ticket"},
		"ledger/record":     {"ticket"},
		"ledger/rules":      {"ticket"},
		"ledger/manifest":   {"ticket", "ledger/rules"},
		"ledger/decision":   {"ticket", "ledger/rules"},
		"ledger/replay":     {"ticket", "ledger/record", "ledger/rules"},
		"ledger":            {"ticket", "ticket/keyfile", "ledger/record", "ledger/rules", "ledger/replay", "ledger/manifest", "ledger/decision"},
		"ledger/ledgertest": {"ticket", "ticket/keyfile", "ledger", "ledger/manifest", "ledger/decision"},
		"cluster":           {"ticket", "ledger", "ledger/record", "ledger/manifest"},
		"ticket/strict":     nil,
		"firmware":          {"ticket/strict"},
		"edge/deviceapi":    {"ticket", "ledger/decision"},
		"edge/receipt":      nil,
		"edge": {"ticket", "ticket/keyfile", "ledger", "ledger/rules", "ledger/record", "ledger/decision", "ledger/manifest",
			"cluster", "scanner", "ticket/strict", "edge/deviceapi", "edge/receipt", "uplink", "pricing"},
		"sim": {"ticket", "ticket/keyfile", "ledger", "ledger/manifest", "ledger/decision", "cluster", "scanner", "edge",
			"edge/deviceapi", "firmware", "ticket/strict", "ledger/record", "ledger/rules",
			// The demo's venue: central in the same process, wired as `tixgate central` wires it.
			"central", "central/store", "central/catalog", "central/devices", "central/quota", "central/staff", "central/shop", "pricing",
			// The simulation's gates sync with its central through the uplink.
			"uplink"},
		"central/store":           nil,
		"central/store/storetest": nil, // tests only; standard library
		"central/testsrv":         nil, // tests only; standard library
		// The protocol both sides share: the ledger's pure wire packages only.
		"uplink":           {"ticket", "ticket/keyfile", "ledger/manifest", "ledger/record"},
		"central/catalog":  {"central/store", "ticket", "ticket/keyfile", "ledger/manifest", "ledger/rules"},
		"central/devices":  {"central/store", "central/catalog", "ticket", "ticket/keyfile", "uplink"},
		"central/intake":   {"central/store", "ticket", "ledger/record", "uplink"},
		"central/quota":    {"central/store", "central/catalog", "ticket", "ticket/keyfile", "ledger/manifest", "ledger/record"},
		"central/sales":    {"central/store", "central/catalog", "central/reconcile", "ticket", "ledger/record", "pricing"},
		"central/shop":     {"central/store", "central/catalog", "central/password", "pricing", "ticket", "ticket/strict"},
		"central/password": nil,
		"central/backup":   {"central/store", "ticket", "ticket/keyfile"},
		"central": {"central/store", "central/catalog", "central/devices", "central/intake", "central/conflicts", "central/reconcile", "central/staff", "central/ops", "central/quota", "central/sales", "central/shop", "central/storefront", "central/pay", "central/settle", "central/report", "central/pdftext", "central/help", "central/invoice", "central/support", "ticket", "ticket/keyfile",
			"ledger/manifest", "ledger/record", "ledger/rules", "uplink"},
		"central/reconcile":  {"ticket", "ledger/record", "ledger/rules", "ledger/replay", "ledger/manifest"},
		"central/staff":      {"central/store", "central/password", "ticket"},
		"central/web":        nil,
		"central/storefront": {"central/shop", "central/store", "central/web", "central/help", "central/invoice", "central/pdftext", "pricing", "ticket"},
		"central/ops":        {"central/store", "central/staff", "central/conflicts", "central/reconcile", "central/catalog", "central/devices", "central/shop", "central/invoice", "central/web", "central/report", "central/help", "pricing", "ticket", "ledger/record", "ledger/manifest", "ledger/rules"},
		"central/conflicts":  {"central/store", "central/reconcile", "ticket", "ledger/record", "ledger/replay", "ledger/manifest"},
		"central/report":     {"central/store", "central/pdftext", "pricing"},
		"central/help":       {"central/store", "ledger/rules"},
		"central/support":    {"central/store", "central/shop", "central/staff", "central/web", "pricing", "ticket"},

		// Payments: one adapter per provider, and their simulator (none of
		// ours); reconciliation with the providers' bills.
		"central/pay":        {"central/store", "central/shop", "ticket", "ticket/strict"},
		"central/pay/paysim": nil,
		"central/settle":     {"central/store"},

		"central/invoice":         {"central/store", "central/shop", "central/pdftext", "pricing", "ticket"},
		"central/invoice/einvsim": nil,
		"central/pdftext":         nil,
	}
	for pkg, ims := range imports {
		if docs[pkg] != 1 {
			t.Errorf("%s: %d files with a package doc comment, want exactly one (doc.go)", pkg, docs[pkg])
		}
		for im := range ims {
			for dep, owner := range owners {
				if (im == dep || strings.HasPrefix(im, strings.TrimSuffix(dep, "/")+"/")) && !slices.Contains(owner, pkg) {
					t.Errorf("%s imports %s, which only %v may import", pkg, im, owner)
				}
			}
			if !strings.HasPrefix(im, module) || strings.HasPrefix(pkg, "cmd/") {
				continue
			}
			allowed, ok := may[pkg]
			if !ok {
				t.Errorf("%s: not in the layout test: say what it may import", pkg)
				continue
			}
			ours := strings.TrimPrefix(im, module)
			found := false
			for _, a := range allowed {
				found = found || a == ours
			}
			if !found {
				t.Errorf("%s imports %s: the layout does not allow it", pkg, ours)
			}
		}
	}
	// Central and the devices meet only through uplink: neither imports the
	// other, and central holds none of the device's storage or mesh.
	for pkg, ims := range imports {
		for im := range ims {
			ours := strings.TrimPrefix(im, module)
			central := pkg == "central" || strings.HasPrefix(pkg, "central/")
			device := slices.Contains([]string{"edge", "ledger", "cluster", "firmware", "scanner"}, strings.Split(ours, "/")[0]) &&
				!strings.HasPrefix(ours, "ledger/") // the ledger's pure packages are shared
			if central && strings.HasPrefix(im, module) && device {
				t.Errorf("%s imports device code %s: central meets devices through uplink", pkg, ours)
			}
			if (strings.HasPrefix(pkg, "edge") || pkg == "ledger" || pkg == "cluster") && (ours == "central" || strings.HasPrefix(ours, "central/")) {
				t.Errorf("%s imports %s: devices never import central", pkg, ours)
			}
		}
	}
	for pkg, ims := range imports {
		if ims[module+"ledger/ledgertest"] {
			t.Errorf("%s imports ledger/ledgertest, which is for tests only", pkg)
		}
	}
}

// TestPurePackages holds the pure packages to their promise: they compute
// and return, so central and the gates can run the very same code. They do
// no I/O and read no clock: time comes in as values.
func TestPurePackages(t *testing.T) {
	pure := []string{"ledger/rules", "ledger/replay", "central/reconcile"}
	io := []string{"os", "io", "net", "syscall", "unsafe", "log", "log/slog", "database/sql", "runtime/cgo"}
	imports, _ := repoPackages(t)
	for _, pkg := range pure {
		if imports[pkg] == nil {
			t.Errorf("%s: no such package", pkg)
		}
		for im := range imports[pkg] {
			for _, bad := range io {
				if im == bad || strings.HasPrefix(im, bad+"/") {
					t.Errorf("%s imports %s, which does I/O", pkg, im)
				}
			}
		}
		files, _ := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(pkg), "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []string{"time.Now(", "time.Since(", "time.Until(", "time.Sleep(", "time.LoadLocation("} {
				if strings.Contains(string(src), call) {
					t.Errorf("%s calls %s: time comes in as values", name, strings.TrimSuffix(call, "("))
				}
			}
		}
	}
}

// The top level holds the packages of the layout and the project's own
// files, nothing else: a build output or a stray package there is refused.
func TestTopLevel(t *testing.T) {
	allowed := map[string]bool{
		"cmd": true, "ticket": true, "pricing": true, "scanner": true, "ledger": true, "cluster": true,
		"firmware": true, "uplink": true, "edge": true, "central": true, "sim": true, "testdata": true,
		"docs": true, "Makefile": true, "go.mod": true, "go.sum": true, "README.md": true,
		"BENCHMARKS.md": true, "LICENSE": true,
	}
	out, err := exec.Command("git", "-C", filepath.Join("..", ".."), "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		top, _, _ := strings.Cut(f, "/")
		if strings.HasPrefix(top, ".") || seen[top] {
			continue
		}
		seen[top] = true
		if !allowed[top] {
			t.Errorf("%s at the top level: neither a package of the layout nor a project file", top)
		}
	}
}
