// Package comm is GoCANN's collective communication library, level 7 of
// the stack (what NCCL is to CUDA and HCCL to CANN): it lets many ranks
// (processes, or goroutines of one process) work as one for data- and
// tensor-parallel jobs. It imports only the runtime and tensors.
//
// # Communicator
//
// A [Communicator] is one rank's membership in a world of Size ranks: its
// Rank, the Devices the ranks compute on, and the collectives
// [Communicator.AllReduce] (sum, prod, min, max, avg), Broadcast, Reduce,
// AllGather, ReduceScatter, AllToAll, point-to-point Send and Recv, and
// Barrier, on tensors of every numeric type (float16 and bfloat16 travel
// and accumulate as float32) on any device.
//
// Calls block, with a context.Context, like the rest of the runtime's
// blocking calls; [Communicator.On] gives the same calls enqueued on a
// runtime.Stream, in order with its kernels and copies (NCCL's model).
// Collectives work on host bytes: a tensor the host can address (host
// tensors, the CPU backend's buffers, seen through tensor.HostBytes) is used
// in place; any other device tensor is staged through host buffers by the
// stream's own copies, never read directly.
//
// Worlds are made by [NewLocal] (ranks as goroutines of one process, for
// tests and single-process multi-device work) or by [Init] from a [Config]
// that [FromEnv] reads from the launcher's variables: RANK/WORLD_SIZE/
// MASTER_ADDR/MASTER_PORT (torchrun, Kubernetes jobs, cann launch),
// PMI_RANK/PMI_SIZE/PMI_FD (MPICH's Hydra: mpirun), OMPI_COMM_WORLD_* (Open
// MPI), SLURM_PROCID/SLURM_NTASKS (srun).
//
// # Layers
//
//	Communicator  tensors, staging, call numbering, failure state   collectives.go, communicator.go, p2p.go
//	algorithms    ring (pipelined), binomial tree, halving-doubling ring.go, tree.go, halving.go, pairwise.go
//	cost model    α–β choice per call, GOCANN_COMM_ALGO override     algorithm.go
//	Transport     messages between ranks, with headers               transport.go
//	  local       in-process, zero-copy rendezvous                  local.go
//	  TCP         processes and hosts                               tcp.go
//	  shm         ranks of one host, beside TCP                     shm.go, cma.go
//	bootstrap     launcher variables, rendezvous store, PMI-1        bootstrap.go, store.go, pmi.go
//
// Algorithms are written once against a call's send and recv of byte
// slices; a [Transport] only moves messages between pairs of ranks. That
// interface is small (Send, Recv, Abort, Close) so that RDMA or a device's
// own links can be added beside TCP.
//
// # Choosing an algorithm
//
// Each call's algorithm is chosen by the α–β(–γ) model in [Cost] from the
// message size, the world size and the transport's [LinkParams]: the ring
// (every link busy, 2(p−1) steps) for large messages, the binomial tree or
// recursive halving-doubling (log₂ p steps) for small ones. Every rank makes
// the same choice from the same inputs, and headers check that they did.
// GOCANN_COMM_ALGO ("ring", "tree", "rhd", or "allreduce=rhd,broadcast=tree")
// overrides the model, as NCCL_ALGO does; an algorithm a collective lacks is
// ignored for it.
//
// # Transports
//
// The in-process transport hands a message over by reference: the receiver
// copies or reduces straight out of the sender's buffer, and the sender
// returns once it has (a rendezvous), so every byte is touched once.
//
// The TCP transport connects every pair of ranks with several data
// connections (large messages are striped over them; sockets get 4 MiB
// buffers and no Nagle delay), one acknowledgement connection and one
// control connection.
//
// Between two ranks of one host (same boot, network and pid namespaces),
// messages do not go through the loopback stack at all but through shared
// memory, as with MPICH's nemesis or NCCL's SHM transport. Each rank owns a
// memfd segment, which its local peers map through /proc: a futex word
// (its bell) and, per local peer, a ring of 256 slots of 4 KiB carrying
// that peer's messages to it. A sender copies a message into free slots and
// publishes them by advancing a counter; the receiver copies (or reduces)
// it out and advances its own. Waiting polls, then sleeps on the bell,
// which a peer rings only when the flag beside it says somebody sleeps;
// how long a wait polls adapts (it doubles when polling paid, halves when
// the wait ended asleep), so an idle host gets memory-speed latency and an
// oversubscribed one does not burn the cores its peers need. Such links
// also send and receive in one operation, slot batch by slot batch, so
// that a ring step or a halving-doubling exchange needs no second
// goroutine and cannot deadlock on full rings. The TCP connections stay,
// for failure notice and diagnosis. Where shared memory cannot be set up
// (or GOCANN_COMM_SHM=0), local pairs use TCP, and large messages there go
// by cross-memory attach: the sender sends its buffer's address and the
// receiver reads it with process_vm_readv (as MPICH and UCX do);
// GOCANN_COMM_CMA=0 turns that off too.
//
// # Faults
//
// Every operation has a timeout (Options.Timeout, GOCANN_COMM_TIMEOUT). A
// rank that fails for any reason aborts its communicator, which breaks its
// connections and sends the reason on every control connection, so the
// other ranks return at once with the same culprit instead of waiting. A
// process that dies is seen by every peer as the end of its control
// connection. A rank that hangs (stopped, deadlocked in user code, or cut
// off by the network) is found when a wait times out: the waiting rank asks
// every peer, over the control connections, whom it is waiting for, and
// follows the chain to the rank that does not answer or is not in the call.
// Errors are *[PeerError] values naming that rank and wrapping [ErrTimeout],
// [ErrPeerLost], [ErrMismatch] or [ErrAborted].
//
// Every message carries a [Header]: the collective, algorithm, element type,
// reduction, root, count and the call's sequence number. A receiver compares
// it with what it expects, so ranks that make different calls fail with
// ErrMismatch instead of exchanging garbage (calls whose message patterns
// never meet time out instead).
//
// After a failure a communicator is aborted: [Communicator.Rebuild] meets
// the same ranks again (a new generation in the rendezvous store), or a
// fresh [NewLocal] replaces an in-process world.
//
// # Bootstrap
//
// Rank 0 serves a small TCP key-value store at MASTER_ADDR:MASTER_PORT
// (like torch's TCPStore); each rank listens on the interface that reaches
// the master, publishes its address and process, reads everyone's, and
// connects the mesh (higher ranks dial lower ones). Under MPICH's mpirun,
// which sets no address, the store is Hydra's own PMI-1 key-value space over
// PMI_FD. Open MPI and Slurm name no meeting point either: MASTER_ADDR/
// MASTER_PORT if set, else 127.0.0.1 and GOCANN_COMM_PORT or a port derived
// from the job id (one host).
package comm
