package jsonproj

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

// TestWordScansFindTheFirstByteToLookAt checks the word scans against
// the bytes they stand for: for every byte value at every position of a
// word, among ordinary bytes before and any bytes after, the lowest mark
// is the first byte the scan must look at. special serves strings that
// are kept (the byte table stringChar), quoteOrControl skipped ones, to
// which bytes past ASCII are ordinary.
func TestWordScansFindTheFirstByteToLookAt(t *testing.T) {
	t.Parallel()
	scans := []struct {
		name  string
		marks func(uint64) uint64
		look  func(byte) bool
	}{
		{"special", special, func(b byte) bool { return stringChar[b] != 0 }},
		{"quoteOrControl", quoteOrControl, func(b byte) bool { return b < 0x20 || b == '"' || b == '\\' }},
	}
	after := []byte{'a', 0, '"', '\\', 0x1f, 0x20, 0x7f, 0x80, 0xff}
	for _, sc := range scans {
		for pos := range 8 {
			for c := range 256 {
				for _, a := range after {
					var w [8]byte
					for i := range w {
						switch {
						case i < pos:
							w[i] = 'x'
						case i == pos:
							w[i] = byte(c)
						default:
							w[i] = a
						}
					}
					want := 8
					for i, b := range w {
						if sc.look(b) {
							want = i
							break
						}
					}
					got := 8
					if m := sc.marks(binary.LittleEndian.Uint64(w[:])); m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					if got != want {
						t.Fatalf("%s, word % x: first byte to look at is %d, the scan says %d", sc.name, w, want, got)
					}
				}
			}
		}
	}
}
