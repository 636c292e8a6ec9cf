package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// memberlistLogger turns memberlist's "[LEVEL] memberlist: text" lines into
// slog records at their level.
func memberlistLogger(l *slog.Logger, node string) *log.Logger {
	return log.New(logWriter{l: l.With("node", node)}, "", 0)
}

type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	level := slog.LevelDebug
	for prefix, lv := range map[string]slog.Level{"[ERR]": slog.LevelError, "[WARN]": slog.LevelWarn, "[INFO]": slog.LevelInfo, "[DEBUG]": slog.LevelDebug} {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			level, line = lv, strings.TrimSpace(rest)
			break
		}
	}
	switch {
	case strings.Contains(line, "use of closed network connection"):
		level = slog.LevelDebug // a node shutting down
	case strings.Contains(line, "untrusted node"):
		// admit refused it and the mesh said so once (refuse); memberlist
		// repeats it at every gossip of the node, forever.
		level = slog.LevelDebug
	case level == slog.LevelError && (strings.Contains(line, "Push/Pull with") && strings.Contains(line, "failed") ||
		strings.Contains(line, "Failed fallback TCP ping")):
		// A peer out of reach: the failure detector deals with it, and
		// a partition makes one every push/pull interval and probe.
		level = slog.LevelWarn
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}
