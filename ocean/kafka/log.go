package kafka

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoLogger sends the Kafka client's logs to slog. The client's info logs
// (joins, assignments, connections) are debug detail for an integration;
// its warnings and errors stay what they are.
type kgoLogger struct{ log *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case k.log.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelInfo
	case k.log.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	default:
		return kgo.LogLevelError
	}
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var l slog.Level
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelNone:
		return
	default:
		l = slog.LevelDebug
	}
	k.log.Log(context.Background(), l, "kafka client: "+msg, keyvals...)
}
