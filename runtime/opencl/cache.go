package opencl

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// The disk cache of program binaries. One file per program and device:
//
//	<dir>/<hex key>.clbin = magic "GCCLBIN1" | key (32) | length (8, LE) | sha256(payload) (32) | payload
//
// The key hashes everything the binary depends on: the source, the build
// options, the device's name and OpenCL version, the driver version and the
// platform. An entry is used only if its magic, key, length and checksum all
// agree; anything else (a truncated write, a flipped bit, a file from
// another key) is rejected and rebuilt, never handed to the driver. The
// driver is still the judge of a well-formed binary: if it refuses one, the
// program is compiled again and the entry replaced. Entries are written to
// a temporary file and renamed, so readers never see half a file.

const cacheMagic = "GCCLBIN1"

// cacheVersion changes whenever the key or the file layout does.
const cacheVersion = "gocann-opencl-cache-v1"

type cacheStatus int

const (
	cacheMiss cacheStatus = iota
	cacheHit
	cacheRejected
)

type diskEntry struct {
	path string // "" when the cache is off
	key  [32]byte
}

// diskCache names the cache entry of a program on d.
func (b *Backend) diskCache(d *Device, source, options string) diskEntry {
	if b.cacheDir == "" {
		return diskEntry{}
	}
	key := cacheKey(source, options, d)
	return diskEntry{path: filepath.Join(b.cacheDir, hex.EncodeToString(key[:])+".clbin"), key: key}
}

func cacheKey(source, options string, d *Device) [32]byte {
	h := sha256.New()
	for _, s := range []string{
		cacheVersion, source, options,
		d.props.Name, d.props.Vendor, d.info.Version, d.info.CVersion, d.props.Driver,
		d.info.Platform, d.info.PlatformVersion,
	} {
		// Length-prefixed, so that no two lists of strings hash alike.
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var key [32]byte
	h.Sum(key[:0])
	return key
}

func (e diskEntry) enabled() bool { return e.path != "" }

// load reads and checks the entry.
func (e diskEntry) load() ([]byte, cacheStatus) {
	if e.path == "" {
		return nil, cacheMiss
	}
	raw, err := os.ReadFile(e.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, cacheMiss
	}
	if err != nil {
		return nil, cacheRejected
	}
	payload, ok := decodeEntry(raw, e.key)
	if !ok {
		return nil, cacheRejected
	}
	return payload, cacheHit
}

const headerSize = len(cacheMagic) + 32 + 8 + 32

// decodeEntry checks a cache file against its key and returns the binary.
func decodeEntry(raw []byte, key [32]byte) ([]byte, bool) {
	if len(raw) < headerSize || string(raw[:len(cacheMagic)]) != cacheMagic {
		return nil, false
	}
	p := raw[len(cacheMagic):]
	if !bytes.Equal(p[:32], key[:]) {
		return nil, false
	}
	n := binary.LittleEndian.Uint64(p[32:40])
	sum := p[40:72]
	payload := p[72:]
	if uint64(len(payload)) != n || n == 0 {
		return nil, false
	}
	got := sha256.Sum256(payload)
	if !bytes.Equal(got[:], sum) {
		return nil, false
	}
	return payload, true
}

func encodeEntry(key [32]byte, payload []byte) []byte {
	out := make([]byte, 0, headerSize+len(payload))
	out = append(out, cacheMagic...)
	out = append(out, key[:]...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(payload)))
	sum := sha256.Sum256(payload)
	out = append(out, sum[:]...)
	return append(out, payload...)
}

// store writes the entry atomically.
func (e diskEntry) store(payload []byte) error {
	if e.path == "" {
		return nil
	}
	dir := filepath.Dir(e.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(encodeEntry(e.key, payload))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, e.path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
