package main

import (
	"bufio"
	"os"
	"runtime"
	"runtime/metrics"
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
	// Allocated is the bytes the process allocated on the heap during the
	// section, GCCycles the collections that ran: a resync's CPU follows
	// them closely, since marking is a fifth of it.
	Allocated uint64 `json:"allocated"`
	GCCycles  uint64 `json:"gcCycles"`
}

// gcCounters reads the bytes allocated and the collections completed since
// the process started.
func gcCounters() (allocated, cycles uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		allocated = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		cycles = s[1].Value.Uint64()
	}
	return allocated, cycles
}

// meter measures one section: wall and CPU time by difference, the peak of
// HeapInuse by sampling, the peak RSS from the kernel. Nothing else of the
// harness runs inside a section: the fakes' figures are read before and
// after it, over HTTP, and connection churn is counted by the fakes.
type meter struct {
	start    time.Time
	cpu      time.Duration
	reset    bool
	before   uint64
	stop     chan struct{}
	done     sync.WaitGroup
	mu       sync.Mutex
	samples  []metrics.Sample // guarded by mu
	peakHeap uint64
	// allocated and cycles are gcCounters at the start.
	allocated, cycles uint64
}

// heapSampleEvery is the heap sampling period. A sample reads
// runtime/metrics, which does not stop the world (ReadMemStats does), so
// sampling costs the measured process next to nothing.
const heapSampleEvery = 10 * time.Millisecond

// heapInuseMetrics sum to runtime.MemStats.HeapInuse: the bytes of heap
// spans in use, objects and the free space inside those spans.
var heapInuseMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

// heapInuse reads HeapInuse from runtime/metrics into samples (reused).
func heapInuse(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	var n uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

func newHeapSamples() []metrics.Sample {
	out := make([]metrics.Sample, len(heapInuseMetrics))
	for i, name := range heapInuseMetrics {
		out[i].Name = name
	}
	return out
}

func startMeter() *meter {
	runtime.GC()
	m := &meter{samples: newHeapSamples(), stop: make(chan struct{})}
	m.before = heapInuse(m.samples)
	m.peakHeap = m.before
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
	m.allocated, m.cycles = gcCounters()
	m.cpu = cpuTime()
	m.start = time.Now()
	return m
}

func (m *meter) sample() {
	m.mu.Lock()
	m.peakHeap = max(m.peakHeap, heapInuse(m.samples))
	m.mu.Unlock()
}

func (m *meter) finish() usage {
	wall := time.Since(m.start)
	cpu := cpuTime() - m.cpu
	allocated, cycles := gcCounters()
	m.sample()
	close(m.stop)
	m.done.Wait()
	_, peak := rss()
	return usage{Wall: wall, CPU: cpu, PeakHeap: m.peakHeap, HeapBefore: m.before, PeakRSS: peak, PeakRSSReset: m.reset,
		Allocated: allocated - m.allocated, GCCycles: cycles - m.cycles}
}
