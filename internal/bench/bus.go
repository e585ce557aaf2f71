package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// startBus runs the JetStream server in a `panoptes run` of its own in dir
// (only the http role, which serves nothing here, and bus.listen on a free
// loopback port) and returns it with the URL the pipeline connects to.
func startBus(ctx context.Context, o Options, dir string) (*child, string, error) {
	addr, err := freeLoopbackPort()
	if err != nil {
		return nil, "", fmt.Errorf("bus process: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	cfg := filepath.Join(dir, "bus.yaml")
	if err := os.WriteFile(cfg, []byte(busConfigYAML(addr, filepath.Join(dir, "data"))), 0o600); err != nil {
		return nil, "", err
	}
	c, err := startChild(o.Binary, "run", "--config", cfg)
	if err != nil {
		return nil, "", fmt.Errorf("start bus process: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return c, "nats://" + addr, nil
		}
		select {
		case <-c.done:
			return nil, "", fmt.Errorf("bus process exited before it listened on %s: %v", addr, c.cmd.ProcessState)
		case <-ctx.Done():
			c.stop()
			return nil, "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, "", fmt.Errorf("bus process not listening on %s after 1m", addr)
		}
	}
}

// busConfigYAML is a node that only serves the bus to other processes.
func busConfigYAML(addr, dataDir string) string {
	return fmt.Sprintf(`site: bench
data_dir: %q
http: {listen: ""}
log: {level: warn}
roles: [http]
bus: {listen: %q}
`, dataDir, addr)
}

// freeLoopbackPort is a loopback address free a moment ago, for a child
// process to listen on (it may be taken meanwhile: the child then fails to
// start and says so).
func freeLoopbackPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
