package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func launchCommand() *command {
	return &command{
		name:    "launch",
		summary: "start N local ranks of a distributed program, output prefixed by rank",
		usage: `cann launch -n N [--master host:port] [--grace 30s] -- CMD [ARGS...]

Starts N copies of CMD on this machine as the ranks of one job, with the
variables torchrun sets: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
MASTER_ADDR and MASTER_PORT (the rendezvous, served by rank 0; a free
loopback port unless --master is given). Their output is forwarded line by
line, prefixed with "[rank K] ". When a rank fails, the others get --grace
to fail too (GoCANN's collectives notice within their timeout) and are then
killed; an interrupt is passed on to every rank. The exit status is 0 when
every rank succeeded.`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			n := fs.Int("n", 1, "number of ranks")
			master := fs.String("master", "", "rendezvous `host:port` (default: 127.0.0.1 and a free port)")
			grace := fs.Duration("grace", 30*time.Second, "how long the other ranks may run after one fails or an interrupt")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) == 0 {
					return fmt.Errorf("no command to launch (cann launch -n N -- CMD ARGS): %w", errUsage)
				}
				if *n < 1 {
					return fmt.Errorf("-n %d: need at least one rank: %w", *n, errUsage)
				}
				addr, port, err := masterAddr(*master)
				if err != nil {
					return err
				}
				return launch(ctx, ios, launchSpec{n: *n, addr: addr, port: port, grace: *grace, argv: args})
			}
		},
	}
}

type launchSpec struct {
	n          int
	addr, port string
	grace      time.Duration
	argv       []string
}

// masterAddr splits --master, or picks a free loopback port.
func masterAddr(master string) (addr, port string, err error) {
	if master != "" {
		addr, port, err = net.SplitHostPort(master)
		if err != nil || port == "" {
			return "", "", fmt.Errorf("--master %q: want host:port: %w", master, errUsage)
		}
		if addr == "" {
			addr = "127.0.0.1"
		}
		return addr, port, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return "127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// forwardLines forwards whole lines to out with a prefix; the mutex is
// shared by all ranks so that their lines never interleave.
func forwardLines(r io.Reader, out io.Writer, mu *sync.Mutex, prefix string) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				line += "\n"
			}
			mu.Lock()
			io.WriteString(out, prefix+line)
			mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// launch runs the ranks and waits for them.
func launch(ctx context.Context, ios ioStreams, sp launchSpec) error {
	var mu sync.Mutex
	type result struct {
		rank int
		err  error
	}
	results := make(chan result, sp.n)
	procs := make([]*exec.Cmd, sp.n)
	exited := make([]bool, sp.n)
	for r := range sp.n {
		cmd := exec.Command(sp.argv[0], sp.argv[1:]...)
		cmd.Env = append(os.Environ(),
			"RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(sp.n),
			"LOCAL_RANK="+strconv.Itoa(r), "LOCAL_WORLD_SIZE="+strconv.Itoa(sp.n),
			"GROUP_RANK=0", "MASTER_ADDR="+sp.addr, "MASTER_PORT="+sp.port)
		cmd.Stdin = nil
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			for _, p := range procs[:r] {
				p.Process.Kill()
			}
			return fmt.Errorf("starting rank %d: %w", r, err)
		}
		procs[r] = cmd
		prefix := fmt.Sprintf("[rank %d] ", r)
		go func() {
			var fwd sync.WaitGroup
			fwd.Go(func() { forwardLines(stdout, ios.stdout, &mu, prefix) })
			fwd.Go(func() { forwardLines(stderr, ios.stderr, &mu, prefix) })
			fwd.Wait() // Wait closes the pipes: only once they are drained
			results <- result{r, cmd.Wait()}
		}()
	}
	var (
		firstErr error
		deadline <-chan time.Time
		running  = sp.n
		killed   bool
		done     = ctx.Done()
	)
	signalAll := func(sig os.Signal) {
		for r, p := range procs {
			if !exited[r] {
				p.Process.Signal(sig)
			}
		}
	}
	for running > 0 {
		select {
		case res := <-results:
			running--
			exited[res.rank] = true
			if res.err != nil && firstErr == nil {
				firstErr = fmt.Errorf("rank %d: %w", res.rank, res.err)
				if running > 0 && deadline == nil {
					deadline = time.After(sp.grace)
				}
			}
		case <-done:
			done = nil
			signalAll(os.Interrupt)
			if firstErr == nil {
				firstErr = ctx.Err()
			}
			if deadline == nil {
				deadline = time.After(sp.grace)
			}
		case <-deadline:
			if !killed {
				killed = true
				fmt.Fprintf(ios.stderr, "cann launch: killing %d rank(s) still running %v after the first failure\n", running, sp.grace)
				signalAll(syscall.SIGKILL)
			}
		}
	}
	var ee *exec.ExitError
	if errors.As(firstErr, &ee) {
		return fmt.Errorf("%w (exit status %d)", firstErr, ee.ExitCode())
	}
	return firstErr
}
