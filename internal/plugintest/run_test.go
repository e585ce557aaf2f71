package plugintest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/node"
	_ "github.com/panoptes-go/panoptes/internal/plugintest/beaconapp"
	"github.com/panoptes-go/panoptes/internal/plugintest/memsink"
	_ "github.com/panoptes-go/panoptes/internal/plugintest/tickinput"
	_ "github.com/panoptes-go/panoptes/internal/sink/webhook" // the beacon's event, read back from the events stream
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// A node runs throwaway plugins of every kind, each one folder: the static
// source's devices are polled by the constant plugin and streamed by the
// tick input, and both reach the memory sink; the beacon app (its role is
// the node's by default) writes its event, which a webhook sink reads
// back from the events stream, and serves its page on the node's HTTP
// server.
func TestThrowawayPluginsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node on an embedded bus for a few seconds")
	}
	var mu sync.Mutex
	var hooked []*event.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if e, err := event.Decode(body); err == nil {
			mu.Lock()
			hooked = append(hooked, e)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	dir := t.TempDir()
	httpAddr := freeport.Addr(freeport.TCP(t))
	text := fmt.Sprintf(`site: lab
data_dir: %s
http: {listen: %q}
discovery:
  interval: 1s
  sources:
    - name: listed
      plugin: static
      devices:
        - {id: a, endpoint: 127.0.0.1}
        - {id: b, endpoint: 127.0.0.2}
snmp:
  credential: c
  credentials: {c: {version: 2c, community: c}}
polling:
  plugins:
    - {name: answer, plugin: constant, interval: 1s, options: {group: answer, value: 42}}
inputs:
  - {name: ticker, plugin: tick, interval: 1s}
apps:
  - {name: lighthouse, plugin: beacon, options: {message: shining}}
sinks:
  - {name: run-mem, type: memory, keep: 1000, batch_timeout: 100ms}
  - {name: hook, type: webhook, url: %q, subjects: [panoptes.events.>], batch_timeout: 100ms}
`, filepath.Join(dir, "data"), httpAddr, hook.URL)
	cfg, err := config.Parse("run.yaml", []byte(text), noEnv, node.Check)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	seen := func() map[string]bool {
		got := map[string]bool{}
		for _, r := range memsink.Records("run-mem") {
			if g := r.Group; g != nil {
				got[g.Type+"/"+g.Resource.ID] = true
			}
		}
		return got
	}
	deadline := time.Now().Add(30 * time.Second)
	want := []string{"answer/a", "answer/b", "tick/a", "tick/b"}
	for {
		got := seen()
		missing := 0
		for _, w := range want {
			if !got[w] {
				missing++
			}
		}
		mu.Lock()
		beacons := len(hooked)
		mu.Unlock()
		if missing == 0 && beacons > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the memory sink has %v (want %v) and the webhook got %d beacon events", got, want, beacons)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	e := hooked[0]
	mu.Unlock()
	if e.Kind != "beacon" || e.NewState != "shining" || e.Site != "lab" || e.Object != "lighthouse" {
		t.Errorf("beacon event = %+v", e)
	}
	resp, err := http.Get("http://" + httpAddr + "/beacon/lighthouse")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "shining" {
		t.Errorf("GET /beacon/lighthouse = %d %q", resp.StatusCode, body)
	}
}
