package opencl

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gocann/gocann/runtime"
)

func TestEncodeDecodeEntry(t *testing.T) {
	key := [32]byte{1, 2, 3}
	payload := []byte("a program binary")
	raw := encodeEntry(key, payload)
	got, ok := decodeEntry(raw, key)
	if !ok || !bytes.Equal(got, payload) {
		t.Fatalf("decode of a fresh entry = %q, %v", got, ok)
	}
	other := key
	other[31] = 9
	if _, ok := decodeEntry(raw, other); ok {
		t.Errorf("entry accepted under another key")
	}
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		if _, ok := decodeEntry(bad, key); ok {
			t.Fatalf("entry with byte %d flipped accepted", i)
		}
	}
	for n := range len(raw) {
		if _, ok := decodeEntry(raw[:n], key); ok {
			t.Fatalf("entry truncated to %d bytes accepted", n)
		}
	}
}

// FuzzDecodeEntry: whatever a cache file holds, decoding never panics, and
// what it accepts is exactly an entry encodeEntry would write for the key.
func FuzzDecodeEntry(f *testing.F) {
	key := [32]byte{7}
	f.Add(encodeEntry(key, []byte("binary")))
	f.Add(encodeEntry(key, bytes.Repeat([]byte{0xff}, 300)))
	f.Add([]byte(cacheMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		payload, ok := decodeEntry(raw, key)
		if !ok {
			return
		}
		if !bytes.Equal(encodeEntry(key, payload), raw) {
			t.Fatalf("accepted an entry that does not re-encode to itself")
		}
	})
}

func TestErrorMapping(t *testing.T) {
	for _, c := range []struct {
		code int32
		name string
		want error
	}{
		{-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE", runtime.ErrOutOfMemory},
		{-5, "CL_OUT_OF_RESOURCES", runtime.ErrOutOfMemory},
		{-6, "CL_OUT_OF_HOST_MEMORY", runtime.ErrOutOfMemory},
		{-1, "CL_DEVICE_NOT_FOUND", runtime.ErrNotFound},
		{-1001, "CL_PLATFORM_NOT_FOUND_KHR", runtime.ErrNotFound},
		{-2, "CL_DEVICE_NOT_AVAILABLE", runtime.ErrDeviceLost},
		{-3, "CL_COMPILER_NOT_AVAILABLE", runtime.ErrUnsupported},
		{-30, "CL_INVALID_VALUE", runtime.ErrInvalidArgument},
		{-11, "CL_BUILD_PROGRAM_FAILURE", runtime.ErrInvalidArgument},
		{-9999, "CL_ERROR_-9999", runtime.ErrInvalidArgument},
	} {
		err := clError("clFoo", c.code)
		if !errors.Is(err, c.want) || CodeName(c.code) != c.name || !bytes.Contains([]byte(err.Error()), []byte(c.name)) {
			t.Errorf("code %d: %v (name %q), want %v named %s", c.code, err, CodeName(c.code), c.want, c.name)
		}
	}
}
