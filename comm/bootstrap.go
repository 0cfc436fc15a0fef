package comm

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gocann/gocann/runtime"
)

// Config says who this rank is and how it finds the others. FromEnv reads
// it from what launchers set.
type Config struct {
	Rank, Size           int
	LocalRank, LocalSize int
	// Launcher names where the values came from: "torchrun" (RANK,
	// WORLD_SIZE: torchrun, Kubernetes jobs, cann launch), "mpich" (PMI_*),
	// "openmpi" (OMPI_COMM_WORLD_*), "slurm" (SLURM_*) or "none".
	Launcher string
	// Master is the rendezvous store's host:port, served by rank 0. Empty
	// with PMI, whose own key-value space is the rendezvous.
	Master string
	// PMIFD is the PMI-1 descriptor Hydra passes (PMI_FD), -1 if none.
	PMIFD int
	// Host is the address this rank listens on and publishes; empty picks
	// the interface that reaches the master (or loopback when every rank
	// is local).
	Host string
	// Generation numbers rebuilds: ranks meet only with ranks of the same
	// generation.
	Generation int
	TCP        TCPOptions
	// NoCMA turns cross-memory attach off: large messages between ranks
	// of one host are copied through shared memory or TCP
	// (GOCANN_COMM_CMA=0).
	NoCMA bool
	// NoSHM turns the shared-memory path off: messages between ranks of
	// one host go over TCP (GOCANN_COMM_SHM=0).
	NoSHM bool
}

// Environment variables of GoCANN's own, beside the launchers'.
const (
	EnvHost    = "GOCANN_COMM_HOST"    // address to listen on and publish
	EnvPort    = "GOCANN_COMM_PORT"    // rendezvous port when the launcher gives none
	EnvSockets = "GOCANN_COMM_SOCKETS" // data connections per peer
	EnvTimeout = "GOCANN_COMM_TIMEOUT" // operation timeout (a Go duration)
	EnvChunk   = "GOCANN_COMM_CHUNK"   // pipelining chunk of ring algorithms, in bytes
	EnvSpin    = "GOCANN_COMM_SPIN"    // how long reads poll before sleeping (a Go duration; 0s: never)
)

// FromEnv reads the rank, world size and rendezvous from the variables of
// the launcher that started the process, in this order: RANK/WORLD_SIZE
// with MASTER_ADDR/MASTER_PORT; PMI_RANK/PMI_SIZE (MPICH's Hydra, meeting
// through PMI_FD unless MASTER_ADDR/PORT are set too);
// OMPI_COMM_WORLD_RANK/SIZE; SLURM_PROCID/SLURM_NTASKS. Open MPI and Slurm
// name no meeting point: MASTER_ADDR/MASTER_PORT if set, else 127.0.0.1
// (one host) and GOCANN_COMM_PORT, else a port derived from the job id.
// With none of these, the process is a world of one. getenv is os.Getenv
// in programs, a map in tests.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{PMIFD: -1, LocalSize: 1, Launcher: "none", Size: 1}
	num := func(name string) (int, bool, error) {
		s := strings.TrimSpace(getenv(name))
		if s == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, true, fmt.Errorf("comm: %s=%q is not a count: %w", name, s, runtime.ErrInvalidArgument)
		}
		return n, true, nil
	}
	var firstErr error
	get := func(name string) (int, bool) {
		n, ok, err := num(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return n, ok
	}
	pick := func(launcher, rank, size, lrank, lsize string) bool {
		r, ok1 := get(rank)
		s, ok2 := get(size)
		if !ok1 || !ok2 {
			return false
		}
		cfg.Launcher, cfg.Rank, cfg.Size = launcher, r, s
		cfg.LocalRank, cfg.LocalSize = r, s // one host unless told otherwise
		if n, ok := get(lrank); ok {
			cfg.LocalRank = n
		}
		if n, ok := get(lsize); ok {
			cfg.LocalSize = n
		}
		return true
	}
	master := func() string {
		addr, port := getenv("MASTER_ADDR"), getenv("MASTER_PORT")
		if port == "" {
			return ""
		}
		if addr == "" {
			addr = "127.0.0.1"
		}
		return net.JoinHostPort(addr, port)
	}
	// derived is the meeting point of launchers that name none.
	derived := func(jobVars ...string) string {
		if m := master(); m != "" {
			return m
		}
		if p := getenv(EnvPort); p != "" {
			return net.JoinHostPort("127.0.0.1", p)
		}
		h := fnv.New32a()
		for _, v := range jobVars {
			h.Write([]byte(getenv(v) + "/"))
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+int(h.Sum32()%20000)))
	}
	switch {
	case pick("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
		cfg.Master = master()
		if cfg.Master == "" && cfg.Size > 1 {
			return cfg, fmt.Errorf("comm: RANK and WORLD_SIZE are set but not MASTER_PORT: %w", runtime.ErrInvalidArgument)
		}
	case pick("mpich", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"):
		cfg.Master = master()
		if fd, ok := get("PMI_FD"); ok && cfg.Master == "" {
			cfg.PMIFD = fd
		} else if cfg.Master == "" {
			cfg.Master = derived("PMI_JOBID", "PMI_KVSNAME")
		}
	case pick("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"):
		cfg.Master = derived("OMPI_MCA_ess_base_jobid", "PMIX_NAMESPACE")
	case pick("slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"):
		cfg.Master = derived("SLURM_JOB_ID", "SLURM_STEP_ID")
	}
	if firstErr != nil {
		return cfg, firstErr
	}
	if cfg.Size < 1 || cfg.Rank >= cfg.Size {
		return cfg, fmt.Errorf("comm: %s: rank %d of a world of %d: %w", cfg.Launcher, cfg.Rank, cfg.Size, runtime.ErrInvalidArgument)
	}
	cfg.Host = getenv(EnvHost)
	cfg.NoCMA = getenv(EnvCMA) == "0"
	cfg.NoSHM = getenv(EnvSHM) == "0"
	if n, ok := get(EnvSockets); ok {
		cfg.TCP.Conns = n
	}
	if s := getenv(EnvSpin); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("comm: %s=%q: want a duration such as 50us: %w", EnvSpin, s, runtime.ErrInvalidArgument)
		}
		cfg.TCP.Spin = d
		if d == 0 {
			cfg.TCP.Spin = -1
		}
	}
	return cfg, firstErr
}

// OptionsFromEnv fills opts.Timeout from GOCANN_COMM_TIMEOUT and
// opts.ChunkBytes from GOCANN_COMM_CHUNK when they are unset.
func OptionsFromEnv(opts Options, getenv func(string) string) (Options, error) {
	if s := getenv(EnvChunk); s != "" && opts.ChunkBytes == 0 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return opts, fmt.Errorf("comm: %s=%q: want a byte count: %w", EnvChunk, s, runtime.ErrInvalidArgument)
		}
		opts.ChunkBytes = n
	}
	if s := getenv(EnvTimeout); s != "" && opts.Timeout == 0 {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return opts, fmt.Errorf("comm: %s=%q: want a duration such as 30s: %w", EnvTimeout, s, runtime.ErrInvalidArgument)
		}
		opts.Timeout = d
	}
	return opts, nil
}

// Init joins the world cfg describes: it meets the other ranks through the
// rendezvous store (served by rank 0 at cfg.Master, or PMI), connects to
// each of them over TCP and exchanges device ids. Every rank must call it;
// it fails with ErrTimeout naming what it waited for when the others do
// not come within opts.Timeout.
func Init(ctx context.Context, cfg Config, opts Options) (*Communicator, error) {
	o, _, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Size <= 1 {
		comms, err := NewLocal(ctx, 1, opts)
		if err != nil {
			return nil, err
		}
		return comms[0], nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var (
		store    Store
		closers  []func() error
		localIP  string
		closeAll = func() error {
			var errs []error
			for i := len(closers) - 1; i >= 0; i-- {
				errs = append(errs, closers[i]())
			}
			return errors.Join(errs...)
		}
	)
	if cfg.Master != "" {
		if cfg.Rank == 0 {
			srv, err := listenMaster(ctx, cfg.Master)
			if err != nil {
				return nil, err
			}
			closers = append(closers, srv.Close)
		}
		client, err := DialStore(ctx, cfg.Master)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("comm: rank %d: %w", cfg.Rank, err)
		}
		closers = append(closers, client.Close)
		store = client
		if a, ok := client.LocalAddr().(*net.TCPAddr); ok {
			localIP = a.IP.String()
		}
	} else if cfg.PMIFD >= 0 {
		pmi, err := OpenPMI(ctx, cfg.PMIFD)
		if err != nil {
			return nil, err
		}
		closers = append(closers, pmi.Close)
		store = pmi
	} else {
		return nil, fmt.Errorf("comm: rank %d of %d: no rendezvous (set MASTER_ADDR and MASTER_PORT): %w", cfg.Rank, cfg.Size, runtime.ErrInvalidArgument)
	}
	c, err := meet(ctx, cfg, opts, store, localIP)
	if err != nil {
		closeAll()
		return nil, err
	}
	c.onClose = closeAll
	return c, nil
}

// listenMaster serves the store at master; if that host is not an address
// of this machine as written (a name, a NAT), on every interface. A port
// that is briefly taken is retried: ranks dialing a store that is not up
// yet can, by TCP's simultaneous open, hold the very port for a moment.
func listenMaster(ctx context.Context, master string) (*StoreServer, error) {
	_, port, err := net.SplitHostPort(master)
	if err != nil {
		return nil, fmt.Errorf("comm: master address %q: %w", master, runtime.ErrInvalidArgument)
	}
	wait := 5 * time.Millisecond
	for {
		srv, err := ListenStore(master)
		if err == nil {
			return srv, nil
		}
		srv, err2 := ListenStore(net.JoinHostPort("", port))
		if err2 == nil {
			return srv, nil
		}
		if !errors.Is(err2, syscall.EADDRINUSE) || ctx.Err() != nil {
			return nil, fmt.Errorf("comm: serving the rendezvous store at %s: %w", master, errors.Join(err, err2))
		}
		time.Sleep(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// meet publishes this rank's address in the store, reads everyone's and
// connects the mesh.
func meet(ctx context.Context, cfg Config, opts Options, store Store, localIP string) (*Communicator, error) {
	host := cfg.Host
	if host == "" {
		host = localIP
	}
	if host == "" {
		host = "127.0.0.1"
		if cfg.LocalSize < cfg.Size { // several hosts and no hint: this host's name
			if name, err := os.Hostname(); err == nil {
				if ips, err := net.LookupHost(name); err == nil && len(ips) > 0 {
					host = ips[0]
				}
			}
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("comm: rank %d: listening on %s: %w", cfg.Rank, host, err)
	}
	defer ln.Close() // the mesh is complete before meet returns
	prefix := fmt.Sprintf("gocann-g%d-", cfg.Generation)
	probe := new(uint64) // kept alive by the transport, which holds it
	self := localInfo(ln.Addr().String(), !cfg.NoCMA, !cfg.NoSHM, probe)
	if err := store.Set(ctx, fmt.Sprintf("%saddr-%d", prefix, cfg.Rank), []byte(self.encode())); err != nil {
		return nil, fmt.Errorf("comm: rank %d: publishing its address: %w", cfg.Rank, err)
	}
	if f, ok := store.(fencer); ok {
		if err := f.Fence(ctx); err != nil {
			return nil, fmt.Errorf("comm: rank %d: %w", cfg.Rank, err)
		}
	}
	infos := make([]peerInfo, cfg.Size)
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d", prefix, cfg.Size)
	for q := range infos {
		v, err := store.Get(ctx, fmt.Sprintf("%saddr-%d", prefix, q))
		if err != nil {
			return nil, fmt.Errorf("comm: rank %d: waiting for rank %d to publish its address: %w", cfg.Rank, q, err)
		}
		if infos[q], err = decodePeerInfo(string(v)); err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "|%s", v)
	}
	tr, err := connectMesh(ctx, cfg.Rank, infos, ln, h.Sum64(), cfg.TCP)
	if err != nil {
		return nil, err
	}
	tr.probe = probe
	c, err := newCommunicator(ctx, tr, opts)
	if err != nil {
		tr.Close(context.Background())
		return nil, err
	}
	c.rebuild = func(ctx context.Context) (*Communicator, error) {
		next := cfg
		next.Generation++
		ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		nc, err := meet(ctx, next, opts, store, localIP)
		if err != nil {
			return nil, err
		}
		nc.onClose, c.onClose = c.onClose, nil // the store now belongs to the new communicator
		c.Close()
		return nc, nil
	}
	return c, nil
}
