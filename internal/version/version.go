// Package version identifies this build of GoCANN.
package version

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"
)

// Version is the release of GoCANN. Compiled models record it, so that a
// file from another release is refused with a clear error.
const Version = "0.1.0-dev"

// Info describes the running binary.
type Info struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

// Get reads the build information the Go toolchain stamped into the binary.
func Get() Info {
	info := Info{Version: Version, Go: goruntime.Version(), Platform: goruntime.GOOS + "/" + goruntime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	return info
}

func (i Info) String() string {
	s := fmt.Sprintf("cann %s (%s, %s)", i.Version, i.Go, i.Platform)
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "+dirty"
		}
		s += " commit " + c
	}
	return s
}
