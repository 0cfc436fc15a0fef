package comm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocann/gocann/tensor"
)

// The process tests re-run this test binary as ranks: a process that finds
// envWorker set runs the scenario it names, as a real program would
// (FromEnv, Init, collectives), prints its outcome and exits.
const envWorker = "GOCANN_COMM_TEST_WORKER"

// envBig makes the collectives scenario's large case 4 MiB.
const envBig = "GOCANN_COMM_TEST_BIG"

func TestMain(m *testing.M) {
	if role := os.Getenv(envWorker); role != "" {
		os.Exit(worker(role))
	}
	os.Exit(m.Run())
}

// worker runs one rank of a scenario. Exit status 0: success; 3: the
// operation failed (the error is printed with "FAIL: "); 2: setup failed.
func worker(role string) int {
	ctx := context.Background()
	cfg, err := FromEnv(os.Getenv)
	if err != nil {
		fmt.Println("SETUP:", err)
		return 2
	}
	opts, err := OptionsFromEnv(Options{}, os.Getenv)
	if err != nil {
		fmt.Println("SETUP:", err)
		return 2
	}
	c, err := Init(ctx, cfg, opts)
	if err != nil {
		fmt.Println("SETUP:", err)
		return 2
	}
	fmt.Printf("ready rank %d of %d (%s) %s\n", c.Rank(), c.Size(), cfg.Launcher, linkKinds(c))
	err = scenario(ctx, role, c)
	if err != nil {
		fmt.Println("FAIL:", err)
		c.Close()
		return 3
	}
	if err := c.Close(); err != nil {
		fmt.Println("FAIL: close:", err)
		return 3
	}
	fmt.Printf("ok rank %d\n", c.Rank())
	return 0
}

func scenario(ctx context.Context, role string, c *Communicator) error {
	p := c.Size()
	switch role {
	case "collectives":
		dtypes := []tensor.DType{tensor.Float32, tensor.BFloat16, tensor.Int8, tensor.Complex128, tensor.Bool}
		if os.Getenv("GOCANN_COMM_TEST_ALLTYPES") != "" {
			dtypes = numericTypes
		}
		for _, k := range cases(p, dtypes, []int{0, 1, 13, 1031}) {
			if err := runCase(ctx, c, k, nil); err != nil {
				return err
			}
		}
		// A large message, striped over the connections and pipelined;
		// with big chunks, messages larger than a shared-memory ring.
		n := 300007
		if os.Getenv(envBig) != "" {
			n = 1<<20 + 7
		}
		for _, coll := range []Collective{CollAllReduce, CollAllGather, CollBroadcast, CollReduce, CollSendRecv, CollAllToAll} {
			if err := runCase(ctx, c, collectiveCase{coll: coll, dt: tensor.Float32, op: Sum, n: n, root: p - 1}, nil); err != nil {
				return err
			}
		}
		return nil
	case "loop": // all-reduce until something fails (fault tests)
		x := build(&errTB{}, tensor.Float32, inputs(Sum, c.Rank(), 1<<20, 0))
		for i := range 100000 {
			if err := c.AllReduce(ctx, x, x, Max); err != nil {
				return err
			}
			if i == 2 {
				fmt.Println("looping")
			}
		}
		return errors.New("the loop ended without a failure")
	case "mismatch":
		// Init may return on one rank while another still waits for its
		// last message; an abort landing then would look like a setup
		// failure. A barrier first puts every rank inside the scenario.
		if err := c.Barrier(ctx); err != nil {
			return err
		}
		n := 1000
		dt := tensor.Float32
		if c.Rank() == 1 {
			n = 1001
		}
		if c.Rank() == 2 {
			dt = tensor.Int32
		}
		x, _ := tensor.New(dt, tensor.Shape{n})
		return c.AllReduce(ctx, x, x, Sum)
	case "rebuild":
		k := collectiveCase{coll: CollAllReduce, dt: tensor.Float32, op: Sum, n: 4099}
		if err := runCase(ctx, c, k, nil); err != nil {
			return err
		}
		// Rank 0 aborts once every rank has told it that the call is done
		// (an abort cuts off whatever is still in flight).
		done, _ := tensor.New(tensor.Uint8, tensor.Shape{1})
		if c.Rank() == 0 {
			for q := 1; q < p; q++ {
				if err := c.Recv(ctx, done, q); err != nil {
					return err
				}
			}
			c.Abort(errors.New("testing rebuild"))
		} else if err := c.Send(ctx, done, 0); err != nil {
			return err
		}
		err := runCase(ctx, c, k, nil)
		if !errors.Is(err, ErrAborted) {
			return fmt.Errorf("after an abort by rank 0, got %v, want ErrAborted", err)
		}
		fmt.Println("aborted:", err)
		nc, err := c.Rebuild(ctx)
		if err != nil {
			return err
		}
		defer nc.Close()
		return runCase(ctx, nc, k, nil)
	}
	return fmt.Errorf("unknown scenario %q", role)
}

// linkKinds counts this rank's peers by how messages reach them, so that
// tests can tell which path they exercised.
func linkKinds(c *Communicator) string {
	t, ok := c.tr.(*tcpTransport)
	if !ok {
		return "links: in-process"
	}
	var shm, cma, tcp int
	for _, p := range t.peers {
		switch {
		case p == nil:
		case p.shm != nil:
			shm++
		default:
			tcp++
		}
		if p != nil && p.shm == nil && p.cmaSend && p.cmaRecv {
			cma++
		}
	}
	return fmt.Sprintf("links: shm=%d cma=%d tcp=%d", shm, cma, tcp)
}

// rankProc is one rank started by a test.
type rankProc struct {
	rank int
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen chan string // lines, as they come
	done chan struct{}
	err  error
}

func (p *rankProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// freePort asks the kernel for a port nobody listens on.
func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startRanks runs n ranks of this test binary as scenario role, with the
// torchrun-style variables cann launch sets, plus env.
func startRanks(t *testing.T, n int, role string, env ...string) []*rankProc {
	t.Helper()
	port := freePort(t)
	procs := make([]*rankProc, n)
	for r := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorker+"="+role,
			"RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(n), "LOCAL_RANK="+strconv.Itoa(r),
			"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+port,
			EnvChunk+"=65536") // many chunks per call: the pipelines get exercised
		cmd.Env = append(cmd.Env, env...)
		procs[r] = startProc(t, r, cmd)
	}
	return procs
}

func startProc(t *testing.T, r int, cmd *exec.Cmd) *rankProc {
	t.Helper()
	p := &rankProc{rank: r, cmd: cmd, seen: make(chan string, 1000), done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.seen <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitAll waits for the ranks to exit, up to limit.
func waitAll(t *testing.T, procs []*rankProc, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			for _, q := range procs {
				t.Logf("rank %d output:\n%s", q.rank, q.output())
			}
			t.Fatalf("rank %d still running after %v: a hang", p.rank, limit)
		}
	}
}

// waitLine waits for a line containing s from p.
func waitLine(t *testing.T, p *rankProc, s string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case line := <-p.seen:
			if strings.Contains(line, s) {
				return
			}
		case <-p.done:
			t.Fatalf("rank %d exited before printing %q:\n%s", p.rank, s, p.output())
		case <-deadline:
			t.Fatalf("rank %d did not print %q within %v:\n%s", p.rank, s, limit, p.output())
		}
	}
}

func exitCode(p *rankProc) int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// TestCollectivesProcesses runs the collectives with ranks as processes
// of this host, on worlds of 2, 3 and 5 ranks, each with every algorithm:
// messages go through shared memory, large ones by cross-memory attach.
// Then the other paths: shared memory without cross-memory attach (large
// messages streamed through the slots), and TCP alone.
func TestCollectivesProcesses(t *testing.T) {
	worlds := []int{2, 3, 5}
	if testing.Short() {
		worlds = []int{3}
	}
	run := func(t *testing.T, n int, links string, env ...string) {
		procs := startRanks(t, n, "collectives", append(env, EnvTimeout+"=30s")...)
		waitAll(t, procs, 60*time.Second)
		for _, p := range procs {
			out := p.output()
			if exitCode(p) != 0 || !strings.Contains(out, "ok rank") {
				t.Errorf("rank %d: %v\n%s", p.rank, p.err, out)
			} else if !strings.Contains(out, links) {
				t.Errorf("rank %d: want %q:\n%s", p.rank, links, out)
			}
		}
	}
	for _, n := range worlds {
		for _, algo := range []string{"ring", "tree", "rhd"} {
			t.Run(fmt.Sprintf("p%d/%s", n, algo), func(t *testing.T) {
				run(t, n, fmt.Sprintf("shm=%d", n-1), EnvAlgo+"="+algo)
			})
		}
	}
	t.Run("p4/shm-no-cma", func(t *testing.T) {
		run(t, 4, "shm=3 cma=0 tcp=0", EnvCMA+"=0")
	})
	// Messages of 2 and 4 MiB, more than a shared-memory ring holds: sends
	// wait for slots, and exchanges interleave both directions.
	for _, algo := range []string{"ring", "tree", "rhd"} {
		t.Run("p2/shm-big/"+algo, func(t *testing.T) {
			run(t, 2, "shm=1", EnvAlgo+"="+algo, EnvChunk+"=16777216", envBig+"=1")
		})
	}
	// Every byte over TCP, with small chunks and three data connections,
	// so that large messages are striped.
	t.Run("p4/tcp-only", func(t *testing.T) {
		run(t, 4, "shm=0 cma=0 tcp=3", EnvSHM+"=0", EnvCMA+"=0", EnvSockets+"=3", EnvChunk+"=1048576")
	})
	// TCP with cross-memory attach for large messages.
	t.Run("p3/tcp-cma", func(t *testing.T) {
		run(t, 3, "shm=0 cma=2 tcp=2", EnvSHM+"=0")
	})
}

// TestRankKilled kills one rank in the middle of a stream of all-reduces:
// every other rank must fail, naming it, well within the timeout, whether
// they were waiting on shared memory or on a socket.
func TestRankKilled(t *testing.T) {
	t.Run("shm", func(t *testing.T) { testFault(t, "kill", syscall.SIGKILL, "peer lost") })
	t.Run("tcp", func(t *testing.T) { testFault(t, "kill", syscall.SIGKILL, "peer lost", EnvSHM+"=0") })
}

// TestRankHangs stops one rank (SIGSTOP: alive, connections open, silent):
// the others must time out naming it instead of hanging.
func TestRankHangs(t *testing.T) {
	testFault(t, "hang", syscall.SIGSTOP, "timed out")
}

func testFault(t *testing.T, name string, sig syscall.Signal, want string, env ...string) {
	const n, victim = 4, 2
	timeout := 3 * time.Second
	procs := startRanks(t, n, "loop", append(env, EnvTimeout+"="+timeout.String())...)
	for _, p := range procs {
		waitLine(t, p, "looping", 30*time.Second)
	}
	start := time.Now()
	procs[victim].cmd.Process.Signal(sig)
	survivors := append(append([]*rankProc{}, procs[:victim]...), procs[victim+1:]...)
	waitAll(t, survivors, timeout+10*time.Second)
	elapsed := time.Since(start)
	if sig == syscall.SIGSTOP {
		procs[victim].cmd.Process.Kill()
	}
	for _, p := range survivors {
		out := p.output()
		if exitCode(p) != 3 || !strings.Contains(out, "FAIL:") {
			t.Errorf("rank %d: exit %v, want a clean failure:\n%s", p.rank, p.err, out)
			continue
		}
		if !strings.Contains(out, fmt.Sprintf("rank %d:", victim)) || !strings.Contains(out, want) {
			t.Errorf("rank %d's error does not name rank %d (%q):\n%s", p.rank, victim, want, out)
		}
	}
	if limit := timeout + 5*time.Second; elapsed > limit {
		t.Errorf("%s: survivors took %v to fail, want under %v", name, elapsed, limit)
	}
	t.Logf("%s: survivors failed %v after the signal; rank 0 said: %s", name, elapsed.Round(time.Millisecond), lastLine(procs[0].output()))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestMismatchProcesses: ranks calling with different counts or types
// all fail with ErrMismatch, none hangs.
func TestMismatchProcesses(t *testing.T) {
	procs := startRanks(t, 4, "mismatch", EnvTimeout+"=10s")
	waitAll(t, procs, 20*time.Second)
	for _, p := range procs {
		if out := p.output(); exitCode(p) != 3 || !strings.Contains(out, "mismatch") && !strings.Contains(out, "aborted") {
			t.Errorf("rank %d: %v\n%s", p.rank, p.err, out)
		}
	}
}

// TestRebuildProcesses aborts a TCP communicator and rebuilds it.
func TestRebuildProcesses(t *testing.T) {
	procs := startRanks(t, 3, "rebuild", EnvTimeout+"=10s")
	waitAll(t, procs, 30*time.Second)
	for _, p := range procs {
		if exitCode(p) != 0 {
			t.Errorf("rank %d: %v\n%s", p.rank, p.err, p.output())
		}
	}
}
