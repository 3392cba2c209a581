package main

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the kernel's peak-RSS counter (VmHWM) of this process,
// so that the next reading is the peak of what follows. It reports whether
// the kernel allowed it; when it did not, peaks are since process start.
func resetPeakRSS() bool {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.WriteString("5")
	return err == nil
}

// rss returns the current (VmRSS) and peak (VmHWM) resident set size in
// bytes, from /proc/self/status, falling back to Getrusage's Maxrss for the
// peak.
func rss() (cur, peak uint64) {
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "VmRSS:"):
				cur = kB(line)
			case strings.HasPrefix(line, "VmHWM:"):
				peak = kB(line)
			}
		}
	}
	if peak == 0 {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			peak = uint64(ru.Maxrss) * 1024 // kilobytes on Linux
		}
	}
	return cur, peak
}

func kB(line string) uint64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(f[1], 10, 64)
	return n * 1024
}

// usage is what a measured section of work cost this process.
type usage struct {
	Wall time.Duration `json:"wall"`
	CPU  time.Duration `json:"cpu"`
	// PeakHeap is the highest sampled runtime.MemStats.HeapInuse.
	PeakHeap uint64 `json:"peakHeap"`
	// HeapBefore is HeapInuse after a GC, just before the section.
	HeapBefore uint64 `json:"heapBefore"`
	// PeakRSS is VmHWM at the end; PeakRSSReset says whether it was reset
	// at the start (otherwise it is the peak since the process started).
	PeakRSS      uint64 `json:"peakRSS"`
	PeakRSSReset bool   `json:"peakRSSReset"`
}

// meter measures one section: wall and CPU time by difference, the peak of
// HeapInuse by sampling, the peak RSS from the kernel.
type meter struct {
	start    time.Time
	cpu      time.Duration
	reset    bool
	before   uint64
	stop     chan struct{}
	done     sync.WaitGroup
	mu       sync.Mutex
	peakHeap uint64
}

// heapSampleEvery is the heap sampling period: ReadMemStats stops the
// world for a few microseconds, so 10 ms costs well under 0.1%.
const heapSampleEvery = 10 * time.Millisecond

func startMeter() *meter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &meter{before: ms.HeapInuse, peakHeap: ms.HeapInuse, stop: make(chan struct{})}
	m.reset = resetPeakRSS()
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		t := time.NewTicker(heapSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	m.cpu = cpuTime()
	m.start = time.Now()
	return m
}

func (m *meter) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mu.Lock()
	m.peakHeap = max(m.peakHeap, ms.HeapInuse)
	m.mu.Unlock()
}

func (m *meter) finish() usage {
	wall := time.Since(m.start)
	cpu := cpuTime() - m.cpu
	m.sample()
	close(m.stop)
	m.done.Wait()
	_, peak := rss()
	return usage{Wall: wall, CPU: cpu, PeakHeap: m.peakHeap, HeapBefore: m.before, PeakRSS: peak, PeakRSSReset: m.reset}
}

// timeWaitTuples returns the TCP sockets in TIME_WAIT whose local or
// remote port is one of ports, by address tuple. nil when /proc is not
// readable.
func timeWaitTuples(ports ...int) map[string]bool {
	want := map[string]bool{}
	for _, p := range ports {
		want[fmt.Sprintf("%04X", p)] = true
	}
	var out map[string]bool
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]bool{}
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || fs[3] != "06" {
				continue
			}
			if want[portOf(fs[1])] || want[portOf(fs[2])] {
				out[fs[1]+">"+fs[2]] = true
			}
		}
	}
	return out
}

// churnCounter counts the connections to some servers that were closed
// while it ran: TIME_WAIT sockets that were not there at the start, sampled
// twice a second (Linux keeps them 60 s, so none is missed). A client that
// keeps fewer idle connections than it has requests in flight closes and
// reopens them all the time, and shows here.
type churnCounter struct {
	ports []int
	seen  map[int]map[string]bool // port → tuples seen during the run
	start map[string]bool
	stop  chan struct{}
	done  chan struct{}
}

func startChurn(ports ...int) *churnCounter {
	c := &churnCounter{ports: ports, seen: map[int]map[string]bool{}, start: timeWaitTuples(ports...),
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, p := range ports {
		c.seen[p] = map[string]bool{}
	}
	if c.start == nil {
		close(c.done)
		return c
	}
	go func() {
		defer close(c.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			c.sample()
			select {
			case <-c.stop:
				c.sample()
				return
			case <-t.C:
			}
		}
	}()
	return c
}

func (c *churnCounter) sample() {
	for _, p := range c.ports {
		for k := range timeWaitTuples(p) {
			if !c.start[k] {
				c.seen[p][k] = true
			}
		}
	}
}

// finish returns the count per port, in the order given; -1 when /proc is
// not readable.
func (c *churnCounter) finish() []int {
	out := make([]int, len(c.ports))
	if c.start == nil {
		for i := range out {
			out[i] = -1
		}
		return out
	}
	close(c.stop)
	<-c.done
	for i, p := range c.ports {
		out[i] = len(c.seen[p])
	}
	return out
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// portOfURL returns the port of a server URL, 0 if none.
func portOfURL(u string) int {
	pu, err := url.Parse(u)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(pu.Port())
	return p
}
