package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envMain makes this test binary act as the cann command, so that cann
// launch and mpirun can start it as the ranks of a job.
const envMain = "GOCANN_TEST_AS_CANN"

func TestMain(m *testing.M) {
	if os.Getenv(envMain) != "" {
		os.Exit(run(context.Background(), os.Args[1:], ioStreams{os.Stdout, os.Stderr}))
	}
	os.Exit(m.Run())
}

func TestLaunch(t *testing.T) {
	t.Setenv(envMain, "") // the children are plain shells here
	code, out, errOut := cann(t, "launch", "-n", "3", "--", "sh", "-c",
		`echo "hello $RANK of $WORLD_SIZE local $LOCAL_RANK via $MASTER_ADDR"; echo "note $RANK" >&2`)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"[rank 0] hello 0 of 3 local 0 via 127.0.0.1", "[rank 2] hello 2 of 3 local 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "[rank 1] note 1") {
		t.Errorf("stderr lacks rank 1's line:\n%s", errOut)
	}
	// One failing rank fails the launch, named.
	code, _, errOut = cann(t, "launch", "-n", "2", "--grace", "5s", "--", "sh", "-c", `exit $RANK`)
	if code != 1 || !strings.Contains(errOut, "rank 1") {
		t.Errorf("failing rank: exit %d, stderr:\n%s", code, errOut)
	}
	for _, args := range [][]string{{"launch", "-n", "2"}, {"launch", "-n", "0", "--", "true"}, {"launch", "--master", "nocolon", "--", "true"}} {
		if code, _, _ := cann(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// benchRows reads rank 0's JSON rows out of launcher output.
func benchRows(t *testing.T, out string) []benchRow {
	t.Helper()
	var js strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "[rank 0] "); ok {
			js.WriteString(rest + "\n")
		} else if !strings.HasPrefix(line, "[rank") {
			js.WriteString(line + "\n")
		}
	}
	var rows []benchRow
	if err := json.Unmarshal([]byte(js.String()), &rows); err != nil {
		t.Fatalf("bench output is not JSON rows: %v\n%s", err, out)
	}
	return rows
}

func TestCommBench(t *testing.T) {
	// One rank, in this process: no launcher variables.
	for _, v := range []string{"RANK", "WORLD_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	code, out, errOut := cann(t, "comm", "bench", "--sizes", "1K,4K", "--iterations", "2", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if rows := benchRows(t, out); len(rows) != 2 || rows[1].SizeBytes != 4096 || rows[0].Ranks != 1 {
		t.Errorf("rows: %+v", rows)
	}
	// Three ranks started by cann launch, every collective.
	t.Setenv(envMain, "1")
	for _, op := range []string{"allreduce", "allgather", "reducescatter", "broadcast", "reduce", "alltoall"} {
		t.Run(op, func(t *testing.T) {
			code, out, errOut := cann(t, "launch", "-n", "3", "--", os.Args[0], "comm", "bench", "--op", op,
				"--sizes", "1K,1000003", "--dtype", "bfloat16", "--iterations", "2", "--warmup", "1", "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
			}
			rows := benchRows(t, out)
			if len(rows) != 2 || rows[0].Ranks != 3 || rows[1].BusBW <= 0 || rows[1].Op != op {
				t.Errorf("rows: %+v", rows)
			}
		})
	}
	// The text table, under MPICH's mpirun when it is installed.
	if mpirun, err := exec.LookPath("mpirun"); err == nil {
		cmd := exec.Command(mpirun, "-n", "2", os.Args[0], "comm", "bench", "--sizes", "64K", "--iterations", "2")
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), "busbw_gbps") || !strings.Contains(string(b), "65536") {
			t.Errorf("under mpirun: %v\n%s", err, b)
		}
	}
	for _, args := range [][]string{
		{"comm"}, {"comm", "bench", "--op", "barrier"}, {"comm", "bench", "--dtype", "string"},
		{"comm", "bench", "--sizes", "12Q"}, {"comm", "bench", "--format", "yaml"}, {"comm", "bench", "--iterations", "0"},
	} {
		if code, _, _ := cann(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if got, err := parseSizes("1K,2M,1G,7"); err != nil || got[0] != 1024 || got[1] != 2<<20 || got[2] != 1<<30 || got[3] != 7 {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
}
