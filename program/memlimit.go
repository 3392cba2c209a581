package program

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// The Go runtime collects garbage when the heap has grown by GOGC percent
// (100) over what was live after the last collection, so a sync's peak
// RSS is about twice its live heap, however much memory the pod has. In a
// container with a memory limit (Port's Helm chart sets
// resources.limits.memory) that doubling is what gets a pod OOM-killed on
// the day the catalog grows: a soft memory limit near the container's
// makes the runtime collect more often as the heap approaches it instead.

// containerMemoryShare is the share of the container's memory limit given
// to the Go runtime: the rest is for what the runtime does not count
// (thread stacks outside the heap, the binary's own pages) and headroom.
const containerMemoryShare = 0.9

// memLimit is what Main did about the Go runtime's soft memory limit,
// for Run to log once it has a logger.
type memLimit struct {
	soft, container int64
	err             error
}

// applyContainerMemoryLimit sets the Go runtime's soft memory limit
// (debug.SetMemoryLimit) to containerMemoryShare of the memory limit of
// the container the process runs in, read from its cgroup under root (v2
// memory.max, else v1 memory.limit_in_bytes). It does nothing when
// GOMEMLIMIT is set (an operator's value wins, "off" included; the runtime
// applied it already) or when no limit is found. Main calls it once.
func applyContainerMemoryLimit(root fs.FS, lookupEnv func(string) (string, bool)) memLimit {
	if _, ok := lookupEnv("GOMEMLIMIT"); ok {
		return memLimit{}
	}
	limit, err := containerMemoryLimit(root)
	if err != nil || limit <= 0 {
		return memLimit{err: err}
	}
	soft := int64(float64(limit) * containerMemoryShare)
	debug.SetMemoryLimit(soft)
	return memLimit{soft: soft, container: limit}
}

// unlimitedCgroup is the smallest memory limit taken for "no limit":
// cgroup v1 reports an unlimited group as the largest page-aligned
// int64, and no machine has 2^62 bytes.
const unlimitedCgroup = 1 << 62

// containerMemoryLimit reads the memory limit of the cgroup mounted at
// root: 0 when there is none.
func containerMemoryLimit(root fs.FS) (int64, error) {
	for _, name := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		b, err := fs.ReadFile(root, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("read the container's memory limit: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("the container's memory limit (%s): %w", name, err)
		}
		if n >= unlimitedCgroup || n > math.MaxInt64 {
			return 0, nil
		}
		return int64(n), nil
	}
	return 0, nil
}
