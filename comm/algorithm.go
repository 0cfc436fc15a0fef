package comm

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/gocann/gocann/runtime"
)

// Algorithm is how a collective moves its data between ranks.
type Algorithm uint8

// The algorithms. Auto lets the cost model choose per call.
const (
	Auto Algorithm = iota
	// Ring passes data around the ranks in a ring, pipelined in chunks:
	// every link busy, bandwidth-optimal, latency growing with the world.
	Ring
	// Tree is a binomial tree: log₂(p) rounds of whole messages,
	// latency-optimal for small ones.
	Tree
	// HalvingDoubling is recursive halving then doubling (Rabenseifner):
	// log₂(p) rounds moving as few bytes as the ring.
	HalvingDoubling
	// pairwise is AllToAll's only algorithm; dissemination Barrier's.
	pairwise
	dissemination
	direct
)

var algoNames = [...]string{Auto: "auto", Ring: "ring", Tree: "tree", HalvingDoubling: "rhd",
	pairwise: "pairwise", dissemination: "dissemination", direct: "direct"}

func (a Algorithm) String() string {
	if int(a) < len(algoNames) {
		return algoNames[a]
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm reads "auto", "ring", "tree" or "rhd" (any case; "halvingdoubling" too).
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "ring":
		return Ring, nil
	case "tree":
		return Tree, nil
	case "rhd", "halvingdoubling", "halving-doubling":
		return HalvingDoubling, nil
	}
	return 0, fmt.Errorf("comm: unknown algorithm %q (want auto, ring, tree or rhd): %w", s, runtime.ErrInvalidArgument)
}

// AlgorithmChoice overrides the cost model, for all collectives or some.
type AlgorithmChoice map[Collective]Algorithm

// ParseAlgorithmChoice reads the GOCANN_COMM_ALGO syntax: one algorithm for
// every collective ("ring"), or a comma-separated list of COLL=ALGO
// ("allreduce=rhd,broadcast=tree"), where the collective "all" or "*"
// sets the default.
func ParseAlgorithmChoice(s string) (AlgorithmChoice, error) {
	choice := AlgorithmChoice{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, algo, ok := strings.Cut(part, "=")
		if !ok {
			name, algo = "all", part
		}
		a, err := ParseAlgorithm(algo)
		if err != nil {
			return nil, err
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "all" || name == "*" {
			choice[0] = a
			continue
		}
		c, err := ParseCollective(name)
		if err != nil {
			return nil, fmt.Errorf("comm: algorithm choice %q: %w: %w", part, err, runtime.ErrInvalidArgument)
		}
		choice[c] = a
	}
	return choice, nil
}

func (ch AlgorithmChoice) forColl(c Collective) Algorithm {
	if a, ok := ch[c]; ok && a != Auto {
		return a
	}
	return ch[0]
}

// LinkParams describe a transport for the cost model (the α–β model):
// sending n bytes to one peer takes Latency + n/Bandwidth, and reducing n
// bytes takes n/ReduceBandwidth.
type LinkParams struct {
	Latency         time.Duration
	Bandwidth       float64 // bytes per second
	ReduceBandwidth float64 // bytes per second
}

// algorithms lists what each collective can run, best fallback first.
func algorithms(c Collective, p int) []Algorithm {
	pow2 := p&(p-1) == 0
	switch c {
	case CollAllReduce:
		return []Algorithm{Ring, Tree, HalvingDoubling}
	case CollBroadcast, CollReduce:
		return []Algorithm{Ring, Tree}
	case CollAllGather, CollReduceScatter:
		if pow2 {
			return []Algorithm{Ring, HalvingDoubling}
		}
		return []Algorithm{Ring}
	case CollAllToAll:
		return []Algorithm{pairwise}
	case CollBarrier:
		return []Algorithm{dissemination}
	}
	return []Algorithm{direct}
}

// Cost is the α–β model's estimate of a call moving n bytes per rank (the
// caller's count times the element size, as widened on the wire) over p
// ranks with algorithm a on a link lp; +Inf when a does not apply.
func Cost(c Collective, a Algorithm, n int64, p int, lp LinkParams, chunk int64) float64 {
	if p <= 1 {
		return 0
	}
	alpha := lp.Latency.Seconds()
	beta := 1 / lp.Bandwidth
	gamma := 1 / lp.ReduceBandwidth
	N, P := float64(n), float64(p)
	logp := float64(bits.Len(uint(p - 1))) // ⌈log₂ p⌉
	frac := (P - 1) / P
	// A pipelined algorithm pays a latency per chunk, and overlaps its
	// reductions with its transfers.
	chunks := math.Max(1, math.Ceil(N/P/float64(chunk)))
	switch c {
	case CollAllReduce:
		switch a {
		case Ring:
			return 2*(P-1+chunks-1)*alpha + 2*frac*N*math.Max(beta, gamma)
		case Tree:
			return 2*logp*(alpha+N*beta) + logp*N*gamma
		case HalvingDoubling:
			t := 2*logp*alpha + 2*frac*N*beta + frac*N*gamma
			if p&(p-1) != 0 { // fold the extra ranks in and out
				t += 2*(alpha+N*beta) + N*gamma
			}
			return t
		}
	case CollBroadcast, CollReduce:
		g := 0.0
		if c == CollReduce {
			g = gamma
		}
		chunks := math.Max(1, math.Ceil(N/float64(chunk)))
		switch a {
		case Ring:
			return (P-1+chunks-1)*alpha + N*math.Max(beta, g) + (P-2)*N/chunks*beta
		case Tree:
			return logp * (alpha + N*(beta+g))
		}
	case CollAllGather, CollReduceScatter:
		g := 0.0
		if c == CollReduceScatter {
			g = gamma
		}
		switch a {
		case Ring:
			return (P-1)*alpha + frac*N*math.Max(beta, g)
		case HalvingDoubling:
			return logp*alpha + frac*N*(beta+g)
		}
	case CollAllToAll, CollBarrier, CollSendRecv:
		return (P-1)*alpha + frac*N*beta
	}
	return math.Inf(1)
}

// choose picks the algorithm for a call: the override if it applies to
// this collective, else the cheapest by the cost model. Every rank makes
// the same choice from the same inputs; headers check that they did.
func choose(c Collective, override Algorithm, n int64, p int, lp LinkParams, chunk int64) Algorithm {
	algos := algorithms(c, p)
	for _, a := range algos {
		if a == override {
			return a
		}
	}
	best, bestCost := algos[0], math.Inf(1)
	for _, a := range algos {
		if t := Cost(c, a, n, p, lp, chunk); t < bestCost {
			best, bestCost = a, t
		}
	}
	return best
}
