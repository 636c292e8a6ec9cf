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
	case level == slog.LevelError && unreachable(line):
		// A peer out of reach or too slow: the failure detector deals
		// with it, and a partition or a loaded network makes one every
		// push/pull interval and probe.
		level = slog.LevelWarn
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}

// unreachable reports whether a memberlist error line says only that a
// peer could not be reached in time: a dial, read or write that failed or
// timed out in a probe, an ack or a state exchange.
func unreachable(line string) bool {
	for _, s := range []string{"Failed fallback TCP ping", "Failed to send ack", "Failed to push local state", "Failed to read remote state",
		"failed to receive and remove the stream label header", "Failed to send UDP ping", "Failed to send indirect UDP ping",
		"Failed to send indirect ping", "Failed to forward ack", "Failed to send nack", "Failed to send error"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return strings.Contains(line, "Push/Pull with") && strings.Contains(line, "failed")
}
