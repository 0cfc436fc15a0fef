package comm

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFromEnv reads every launcher's variables.
func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr bool
	}{
		{"none", nil, Config{Size: 1, LocalSize: 1, Launcher: "none", PMIFD: -1}, false},
		{"torchrun", map[string]string{"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4", "MASTER_ADDR": "node0", "MASTER_PORT": "29500"},
			Config{Rank: 3, Size: 8, LocalRank: 1, LocalSize: 4, Launcher: "torchrun", Master: "node0:29500", PMIFD: -1}, false},
		{"mpich", map[string]string{"PMI_RANK": "1", "PMI_SIZE": "4", "PMI_FD": "6", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "4"},
			Config{Rank: 1, Size: 4, LocalRank: 1, LocalSize: 4, Launcher: "mpich", PMIFD: 6}, false},
		{"mpich with master", map[string]string{"PMI_RANK": "1", "PMI_SIZE": "4", "PMI_FD": "6", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "1234"},
			Config{Rank: 1, Size: 4, LocalRank: 1, LocalSize: 4, Launcher: "mpich", Master: "10.0.0.1:1234", PMIFD: -1}, false},
		{"openmpi", map[string]string{"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_LOCAL_RANK": "2", "GOCANN_COMM_PORT": "4000"},
			Config{Rank: 2, Size: 3, LocalRank: 2, LocalSize: 3, Launcher: "openmpi", Master: "127.0.0.1:4000", PMIFD: -1}, false},
		{"slurm", map[string]string{"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0", "MASTER_PORT": "5000"},
			Config{Rank: 0, Size: 2, LocalRank: 0, LocalSize: 2, Launcher: "slurm", Master: "127.0.0.1:5000", PMIFD: -1}, false},
		{"rank too big", map[string]string{"RANK": "4", "WORLD_SIZE": "4", "MASTER_PORT": "1"}, Config{}, true},
		{"not a number", map[string]string{"RANK": "x", "WORLD_SIZE": "4", "MASTER_PORT": "1"}, Config{}, true},
		{"no master", map[string]string{"RANK": "0", "WORLD_SIZE": "2"}, Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if err == nil {
					t.Errorf("FromEnv = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("FromEnv = %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
	// Slurm without a port derives one from the job, the same on every rank.
	env := map[string]string{"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_JOB_ID": "777"}
	a, _ := FromEnv(func(k string) string { return env[k] })
	env["SLURM_PROCID"] = "0"
	b, _ := FromEnv(func(k string) string { return env[k] })
	if a.Master == "" || a.Master != b.Master {
		t.Errorf("derived rendezvous %q and %q differ", a.Master, b.Master)
	}
}

// TestMPIRun starts this binary as 4 ranks with MPICH's mpirun (Hydra):
// they meet through PMI, with no address given. CI installs mpich; on a
// machine without mpirun the test is skipped.
func TestMPIRun(t *testing.T) {
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun not installed (apt-get install mpich)")
	}
	cmd := exec.Command(mpirun, "-n", "4", os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorker+"=collectives", EnvTimeout+"=30s")
	p := startProc(t, 0, cmd)
	waitAll(t, []*rankProc{p}, 90*time.Second)
	out := p.output()
	if exitCode(p) != 0 || strings.Count(out, "ok rank") != 4 || !strings.Contains(out, "(mpich)") {
		t.Fatalf("mpirun: %v\n%s", p.err, out)
	}
}

// TestNetworkNamespaces runs ranks on two "hosts": network namespaces
// joined by a veth pair, two ranks in each. It checks the collectives
// across them, then cuts the link in the middle of a stream of
// all-reduces: with no FIN or RST to see, every rank must still fail
// within its timeout, naming a rank on the other side. Needs root and
// iproute2; skipped where namespaces cannot be made.
func TestNetworkNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for ip netns")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip (iproute2) not installed")
	}
	tag := fmt.Sprint(os.Getpid() % 100000)
	nsA, nsB := "gocann-a"+tag, "gocann-b"+tag
	vA, vB := "gcA"+tag, "gcB"+tag
	addrA, addrB := "10.231.7.1", "10.231.7.2"
	run := func(args ...string) error {
		out, err := exec.Command(ip, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		run("netns", "del", nsA)
		run("netns", "del", nsB)
	})
	setup := [][]string{
		{"netns", "add", nsA}, {"netns", "add", nsB},
		{"link", "add", vA, "type", "veth", "peer", "name", vB},
		{"link", "set", vA, "netns", nsA}, {"link", "set", vB, "netns", nsB},
		{"-n", nsA, "addr", "add", addrA + "/24", "dev", vA}, {"-n", nsB, "addr", "add", addrB + "/24", "dev", vB},
		{"-n", nsA, "link", "set", "lo", "up"}, {"-n", nsB, "link", "set", "lo", "up"},
		{"-n", nsA, "link", "set", vA, "up"}, {"-n", nsB, "link", "set", vB, "up"},
	}
	for _, args := range setup {
		if err := run(args...); err != nil {
			t.Skipf("cannot build network namespaces here: %v", err)
		}
	}
	start := func(role string, env ...string) []*rankProc {
		port := freePort(t)
		var procs []*rankProc
		for r := range 4 {
			ns := nsA
			if r >= 2 {
				ns = nsB
			}
			cmd := exec.Command(ip, "netns", "exec", ns, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envWorker+"="+role, fmt.Sprintf("RANK=%d", r), "WORLD_SIZE=4",
				fmt.Sprintf("LOCAL_RANK=%d", r%2), "LOCAL_WORLD_SIZE=2", "MASTER_ADDR="+addrA, "MASTER_PORT="+port)
			cmd.Env = append(cmd.Env, env...)
			procs = append(procs, startProc(t, r, cmd))
		}
		return procs
	}
	t.Run("collectives", func(t *testing.T) {
		procs := start("collectives", EnvTimeout+"=30s")
		waitAll(t, procs, 90*time.Second)
		for _, p := range procs {
			if exitCode(p) != 0 {
				t.Errorf("rank %d: %v\n%s", p.rank, p.err, p.output())
			}
		}
	})
	t.Run("link cut", func(t *testing.T) {
		timeout := 3 * time.Second
		procs := start("loop", EnvTimeout+"="+timeout.String())
		for _, p := range procs {
			waitLine(t, p, "looping", 30*time.Second)
		}
		cut := time.Now()
		if err := run("-n", nsB, "link", "set", vB, "down"); err != nil {
			t.Fatal(err)
		}
		waitAll(t, procs, timeout+10*time.Second)
		elapsed := time.Since(cut)
		for _, p := range procs {
			out := p.output()
			// The culprit named must be across the cut.
			across := []string{"): rank 2:", "): rank 3:"}
			if p.rank >= 2 {
				across = []string{"): rank 0:", "): rank 1:"}
			}
			if exitCode(p) != 3 || !strings.Contains(out, "FAIL:") {
				t.Errorf("rank %d: want a clean failure, got %v:\n%s", p.rank, p.err, out)
			} else if !strings.Contains(out, across[0]) && !strings.Contains(out, across[1]) {
				t.Errorf("rank %d does not blame a rank across the cut:\n%s", p.rank, out)
			}
		}
		if limit := timeout + 5*time.Second; elapsed > limit {
			t.Errorf("ranks took %v to fail after the cut, want under %v", elapsed, limit)
		}
		for _, p := range procs {
			t.Logf("rank %d: %s", p.rank, lastLine(p.output()))
		}
	})
}
