package program_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/program"
)

func TestNewLogger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format, level string
		wantDebug     bool
		wantInfo      bool
		wantWarn      bool
		wantJSON      bool
		wantErr       bool
	}{
		{level: "", wantInfo: true, wantWarn: true},
		{level: "DEBUG", wantDebug: true, wantInfo: true, wantWarn: true},
		{level: "warning", wantWarn: true},
		{level: "CRITICAL"},
		{format: "json", level: "INFO", wantInfo: true, wantWarn: true, wantJSON: true},
		{level: "LOUD", wantErr: true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l, err := program.NewLogger(&buf, tt.format, tt.level)
		if tt.wantErr {
			assert.ErrorContains(t, err, "APPLICATION__LOG_LEVEL")
			continue
		}
		require.NoError(t, err)
		l.Debug("d-line")
		l.Info("i-line")
		l.Warn("w-line")
		out := buf.String()
		assert.Equal(t, tt.wantDebug, bytes.Contains(buf.Bytes(), []byte("d-line")), "%+v: %s", tt, out)
		assert.Equal(t, tt.wantInfo, bytes.Contains(buf.Bytes(), []byte("i-line")), "%+v: %s", tt, out)
		assert.Equal(t, tt.wantWarn, bytes.Contains(buf.Bytes(), []byte("w-line")), "%+v: %s", tt, out)
		assert.Equal(t, tt.wantJSON, bytes.HasPrefix(buf.Bytes(), []byte("{")), "%+v: %s", tt, out)
	}
}
