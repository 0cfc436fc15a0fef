package compiled

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gocann/gocann/graph"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// FuzzRead feeds arbitrary bytes to the reader: it must return a model or
// an error, never panic, and a model it returns must have every tensor
// inside memory it owns.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// Most mutations break the checksum, which would stop them at
		// the door: also try each input with its checksum made right,
		// so that they reach the manifest and graph decoders.
		for _, b := range [][]byte{data, fixChecksum(data)} {
			for _, verify := range []bool{false, true} {
				m, err := Decode(b, WithVerifyWeights(verify), WithoutCompatCheck(), WithMaxTensorBytes(1<<24))
				if err != nil {
					continue
				}
				touch(m.Graph.Graph)
				m.Close()
			}
		}
	})
}

// fixChecksum returns a copy of data with the header checksum recomputed,
// or data itself when the header does not parse.
func fixChecksum(data []byte) []byte {
	h, err := parseHeader(data, int64(len(data)))
	if err != nil {
		return data
	}
	b := append([]byte(nil), data...)
	h.headerCRC = metaCRC(b[:HeaderSize], b[h.manifest.off:h.manifest.end()], b[h.graph.off:h.graph.end()])
	copy(b[crcOffset:], h.marshal()[crcOffset:crcOffset+4])
	return b
}

// touch reads every byte of every initializer of g and its subgraphs.
func touch(g *graph.Graph) (sum byte) {
	for _, x := range g.Initializers {
		if b, ok := x.HostBytes(); ok {
			for _, v := range b {
				sum += v
			}
		}
	}
	for _, n := range g.Nodes {
		for _, sg := range n.Graphs {
			sum += touch(sg)
		}
		for _, l := range n.GraphLists {
			for _, sg := range l {
				sum += touch(sg)
			}
		}
	}
	return sum
}

// seeds are the corpus: a small valid file, and damaged copies of it.
func seeds(t *testing.T) map[string][]byte {
	valid, _ := writeBytes(t, branchModel(t), Build{CPUFeatures: []string{}, Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	h, _ := parseHeader(valid, int64(len(valid)))
	flipped := append([]byte(nil), valid...)
	flipped[h.graph.off+h.graph.len/3] ^= 0x10
	return map[string][]byte{
		"valid":            valid,
		"truncated":        valid[:len(valid)*2/3],
		"truncated-header": valid[:HeaderSize/2],
		"corrupted-graph":  flipped,
		"corrupted-crc":    rewriteSection(t, valid),
	}
}

func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	for name, b := range seeds(t) {
		path := filepath.Join(dir, name)
		if *update {
			os.MkdirAll(dir, 0o755)
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("seed %s missing (go test ./compiled -run TestFuzzSeeds -update): %v", name, err)
		}
	}
	// The valid seed must stay valid as the format evolves.
	m, err := Decode(seeds(t)["valid"])
	if err != nil && !errors.Is(err, ErrIncompatible) {
		t.Errorf("valid seed: %v", err)
	} else if err == nil {
		m.Close()
	}
}
