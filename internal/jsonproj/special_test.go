package jsonproj

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

// TestSpecialFindsTheFirstByteToLookAt checks the word scan against the
// byte table it stands in for: for every byte value at every position of
// a word, among ordinary bytes before and any bytes after, the lowest mark
// is the first byte the table does not call ordinary.
func TestSpecialFindsTheFirstByteToLookAt(t *testing.T) {
	t.Parallel()
	after := []byte{'a', 0, '"', '\\', 0x1f, 0x20, 0x7f, 0x80, 0xff}
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
					if stringChar[b] != 0 {
						want = i
						break
					}
				}
				got := 8
				if m := special(binary.LittleEndian.Uint64(w[:])); m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("word % x: first byte to look at is %d, special says %d", w, want, got)
				}
			}
		}
	}
}
