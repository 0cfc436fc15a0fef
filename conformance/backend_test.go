package conformance

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/runtime/backends"
)

// The ONNX backend test data from Debian's libonnx-testdata. .ci/run
// installs it; GOCANN_ONNX_TESTDATA points elsewhere.
func testdataRoot() string {
	if d := os.Getenv("GOCANN_ONNX_TESTDATA"); d != "" {
		return d
	}
	return "/usr/share/libonnx-testdata/data"
}

var suites = []string{"node", "pytorch-converted", "pytorch-operator", "simple"}

var (
	update    = flag.Bool("update", false, "rewrite testdata/onnx_backend.txt from this run's results")
	casesFlag = flag.String("cases", "", "run only the cases whose name matches this regexp, and report each (no expectation checks)")
	optLevel  = flag.Int("opt-level", 3, "graph optimization level the cases load at (the expectations hold at every level)")
	device    = flag.String("device", "cpu", "device the cases run on; off the CPU (-device opencl) each case runs with CPU fallbacks, the expectations are not checked, and the cases that ran wholly on the device are counted")
)

// loadOptions are the model options of the flags: the device, and the
// optimization level unless it is left to the device's default.
func loadOptions() []model.Option {
	opts := []model.Option{model.WithDevice(*device)}
	levelSet := false
	flag.Visit(func(f *flag.Flag) { levelSet = levelSet || f.Name == "opt-level" })
	if *device == "cpu" || levelSet {
		opts = append(opts, model.WithOptLevel(*optLevel))
	}
	return opts
}

const expectFile = "testdata/onnx_backend.txt"

// expectation is one line of the expectations file: "NAME pass" or
// "NAME fail REASON".
type expectation struct {
	pass   bool
	reason string
}

func readExpectations(t *testing.T) map[string]expectation {
	f, err := os.Open(expectFile)
	if err != nil {
		if *update {
			return map[string]expectation{}
		}
		t.Fatalf("reading expectations: %v (run with -update to create it)", err)
	}
	defer f.Close()
	exp := map[string]expectation{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		status, reason, _ := strings.Cut(strings.TrimSpace(rest), " ")
		switch status {
		case "pass":
			exp[name] = expectation{pass: true}
		case "fail":
			if strings.TrimSpace(reason) == "" {
				t.Fatalf("%s: %s is expected to fail without a written reason", expectFile, name)
			}
			exp[name] = expectation{reason: strings.TrimSpace(reason)}
		default:
			t.Fatalf("%s: bad line %q", expectFile, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestONNXBackend runs every case of the ONNX backend test data and holds
// the results to the checked-in expectations: a case expected to pass that
// fails is a regression, and a case expected to fail that passes means the
// list is stale (run with -update and commit it).
func TestONNXBackend(t *testing.T) {
	root := testdataRoot()
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX test data missing at %s (install libonnx-testdata)", root)
		}
		t.Skipf("ONNX test data missing at %s (install Debian's libonnx-testdata)", root)
	}
	cases, err := Cases(root, suites...)
	if err != nil {
		t.Fatal(err)
	}
	if *casesFlag != "" {
		runSelected(t, cases)
		return
	}
	if *device != "cpu" {
		runOnDevice(t, cases)
		return
	}
	exp := readExpectations(t)
	results := map[string]error{}
	perSuite := map[string][2]int{}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := c.Run(ctx, Default, loadOptions()...)
		cancel()
		results[c.Name] = err
		suite, _, _ := strings.Cut(c.Name, "/")
		n := perSuite[suite]
		n[1]++
		if err == nil {
			n[0]++
		}
		perSuite[suite] = n
		if *update {
			continue
		}
		e, listed := exp[c.Name]
		switch {
		case !listed:
			t.Errorf("%s: not in %s (run with -update)", c.Name, expectFile)
		case e.pass && err != nil:
			t.Errorf("%s: regression: %v", c.Name, err)
		case !e.pass && err == nil:
			t.Errorf("%s: passes now but is listed as failing (%s): run with -update", c.Name, e.reason)
		}
	}
	total := 0
	names := make([]string, 0, len(perSuite))
	for s := range perSuite {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		t.Logf("%-18s %4d / %4d pass", s, perSuite[s][0], perSuite[s][1])
		total += perSuite[s][0]
	}
	t.Logf("%-18s %4d / %4d pass", "total", total, len(cases))
	if *update {
		writeExpectations(t, cases, results, exp)
	}
}

func writeExpectations(t *testing.T, cases []Case, results map[string]error, old map[string]expectation) {
	var b strings.Builder
	b.WriteString("# Expected status of every ONNX backend test case (Debian libonnx-testdata).\n")
	b.WriteString("# NAME pass | NAME fail REASON. Regenerate: go test ./conformance -run TestONNXBackend -update\n")
	for _, c := range cases {
		if err := results[c.Name]; err != nil {
			// A reason written by hand for a case that still fails is kept.
			reason := Summary(err)
			if e, ok := old[c.Name]; ok && !e.pass && e.reason != "" {
				reason = e.reason
			}
			fmt.Fprintf(&b, "%s fail %s\n", c.Name, reason)
		} else {
			fmt.Fprintf(&b, "%s pass\n", c.Name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(expectFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(expectFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runSelected runs the cases matching -cases and reports each, for working
// on a group of operators without touching the expectations file.
func runSelected(t *testing.T, cases []Case) {
	re, err := regexp.Compile(*casesFlag)
	if err != nil {
		t.Fatalf("-cases: %v", err)
	}
	pass, total := 0, 0
	for _, c := range cases {
		if !re.MatchString(c.Name) {
			continue
		}
		total++
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := c.Run(ctx, Default, loadOptions()...)
		cancel()
		if err != nil {
			t.Logf("FAIL %s: %v", c.Name, err)
			continue
		}
		pass++
		t.Logf("pass %s", c.Name)
	}
	t.Logf("%d / %d selected cases pass", pass, total)
}

// runOnDevice runs every case on -device, nodes the device cannot run
// falling back to the CPU, and reports per suite how many pass and how
// many ran wholly on the device (no fallback for the first test data set's
// inputs). A case expected to pass on the CPU that fails on the device
// fails the test.
func runOnDevice(t *testing.T, cases []Case) {
	reg, err := backends.Registry(backends.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = reg.Open(*device)
	reg.Close()
	if err != nil {
		t.Fatalf("-device %s: %v", *device, err)
	}
	exp := readExpectations(t)
	type count struct{ pass, whole, total int }
	perSuite := map[string]*count{}
	fallbacks := map[string]int{} // operator types that fell back, by case count
	for _, c := range cases {
		suite, _, _ := strings.Cut(c.Name, "/")
		n := perSuite[suite]
		if n == nil {
			n = &count{}
			perSuite[suite] = n
		}
		n.total++
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := c.Run(ctx, Default, loadOptions()...)
		cancel()
		if err != nil {
			if e := exp[c.Name]; e.pass {
				t.Errorf("FAIL %s (passes on the CPU): %v", c.Name, err)
			}
			continue
		}
		n.pass++
		ops, whole := placementOf(c)
		if whole {
			n.whole++
		}
		for _, op := range ops {
			fallbacks[op]++
		}
	}
	names := make([]string, 0, len(perSuite))
	for s := range perSuite {
		names = append(names, s)
	}
	sort.Strings(names)
	var all count
	for _, s := range names {
		n := perSuite[s]
		t.Logf("%-18s %4d / %4d pass, %4d wholly on %s", s, n.pass, n.total, n.whole, *device)
		all.pass, all.whole, all.total = all.pass+n.pass, all.whole+n.whole, all.total+n.total
	}
	t.Logf("%-18s %4d / %4d pass, %4d wholly on %s", "total", all.pass, all.total, all.whole, *device)
	ops := make([]string, 0, len(fallbacks))
	for op := range fallbacks {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		return fallbacks[ops[i]] > fallbacks[ops[j]] || fallbacks[ops[i]] == fallbacks[ops[j]] && ops[i] < ops[j]
	})
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, " %s×%d", op, fallbacks[op])
	}
	t.Logf("operators that fell back (cases):%s", b.String())
}

// placementOf loads a case on -device and returns the operator types of
// the nodes that fall back for its first data set's inputs, and whether
// none does. A case whose inputs are not all tensors counts as not whole.
func placementOf(c Case) ([]string, bool) {
	path := c.Model
	if path == "" {
		path = filepath.Join(c.Dir, "model.onnx")
	}
	m, err := model.Load(path, loadOptions()...)
	if err != nil {
		return nil, false
	}
	defer m.Close()
	feeds, err := readFeeds(m, filepath.Join(c.Dir, "test_data_set_0"))
	if err != nil {
		return nil, false
	}
	pm, err := m.Placement(feeds)
	if err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	var ops []string
	for _, f := range pm.Fallbacks {
		if !seen[f.OpType] {
			seen[f.OpType] = true
			ops = append(ops, f.OpType)
		}
	}
	return ops, len(pm.Fallbacks) == 0
}
