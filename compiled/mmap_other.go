//go:build !unix

package compiled

import (
	"errors"
	"os"
)

var errNoMmap = errors.New("mmap unavailable")

// mmapFile is not implemented here: Open reads the file into memory.
func mmapFile(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errNoMmap
}
