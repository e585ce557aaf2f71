package apps

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// streamApp reports whether the events stream exists when it runs.
type streamApp struct{ found chan error }

func (a streamApp) Run(ctx context.Context, env *Env) error {
	_, err := env.JS.Stream(ctx, event.Stream)
	a.found <- err
	return nil
}

// An app run by a Host nobody prepared (a config reload added the node's
// first app) finds the events stream it writes to.
func TestHostRunPrepares(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := &Host{Site: "lab", JS: b.JetStream(), Replicas: 1, Logger: slog.New(slog.DiscardHandler)}
	app := streamApp{found: make(chan error, 1)}
	if err := h.Run(ctx, Instance{Name: "a", Type: "test", App: app}); err != nil {
		t.Fatal(err)
	}
	if err := <-app.found; err != nil {
		t.Errorf("the events stream is missing when an unprepared host runs an app: %v", err)
	}
}

// quorumLost opens three embedded servers routed on loopback (the way a
// three-node site runs them) and closes two: the JetStream cluster has no
// quorum. restart opens those two again with their stores.
func quorumLost(t *testing.T) (js jetstream.JetStream, restart func()) {
	t.Helper()
	ports := []int{freeport.TCP(t), freeport.TCP(t), freeport.TCP(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats-route://"+freeport.Addr(p))
	}
	opts := make([]bus.Options, 3)
	buses := make([]*bus.Bus, 3)
	open := func(idx ...int) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		errs := make(chan error, len(idx))
		for _, i := range idx {
			go func() {
				var err error
				buses[i], err = bus.Open(ctx, opts[i])
				errs <- err
			}()
		}
		for range idx {
			if err := <-errs; err != nil {
				t.Fatalf("open cluster server: %v", err)
			}
		}
	}
	for i := range opts {
		opts[i] = bus.Options{DataDir: t.TempDir(), Replicas: 3, MaxBytes: 64 << 20, Name: fmt.Sprintf("node%d", i),
			Cluster: bus.Cluster{Name: "apps-test", Listen: freeport.Addr(ports[i]), Routes: routes}, ConnectRetry: 40 * time.Second}
	}
	open(0, 1, 2)
	t.Cleanup(func() {
		for _, b := range buses {
			if b != nil {
				_ = b.Close()
			}
		}
	})
	for _, i := range []int{1, 2} {
		_ = buses[i].Close()
		buses[i] = nil
	}
	return buses[0].JetStream(), func() { open(1, 2) }
}

// ranApp reports that it ran, and whether the events stream existed then.
type ranApp struct{ ran chan error }

func (a ranApp) Run(ctx context.Context, env *Env) error {
	_, err := env.JS.Stream(ctx, event.Stream)
	a.ran <- err
	<-ctx.Done()
	return nil
}

// The apps start once the events stream can be created, however long after
// bus.connect_retry that is: a JetStream cluster that lost its quorum gets
// it back (an operator restarts the servers) and the app runs, without a
// panoptes restart. Cancelling the context stops the retrying at once.
func TestHostWaitsForQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-server embedded NATS cluster")
	}
	js, restart := quorumLost(t)
	var logs logbuf.Buffer
	formed := make(chan struct{}, 10)
	newHost := func() *Host {
		return &Host{Site: "lab", JS: js, Replicas: 3, Logger: logs.Logger(slog.LevelInfo),
			// bus.connect_retry: a budget that passes before the quorum is back
			Forming: func(ctx context.Context, _ string, op func(context.Context) error) error {
				defer func() { formed <- struct{}{} }()
				ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				return op(ctx)
			},
			retry: backoff.Backoff{Min: 200 * time.Millisecond, Max: time.Second}}
	}
	// waitRetrying waits until n more retries were logged after the first
	// budget, failing if Run gave up instead.
	waitRetrying := func(n int, done chan error) {
		t.Helper()
		want := strings.Count(logs.String(), "apps not started yet") + n
		deadline := time.After(30 * time.Second)
		for strings.Count(logs.String(), "apps not started yet") < want {
			select {
			case err := <-done:
				t.Fatalf("Run gave up after bus.connect_retry: %v", err)
			case <-deadline:
				t.Fatalf("no retry logged after the first budget:\n%s", logs.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	run := func(ctx context.Context, h *Host, app ranApp) chan error {
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx, Instance{Name: "a", Type: "test", App: app}) }()
		return done
	}

	// Cancelled while retrying: Run returns promptly.
	ctx, cancel := context.WithCancel(context.Background())
	app := ranApp{ran: make(chan error, 1)}
	done := run(ctx, newHost(), app)
	waitRetrying(2, done)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run still retrying 2 s after its context was cancelled")
	}
	select {
	case err := <-app.ran:
		t.Fatalf("the app ran without a quorum (stream: %v)", err)
	default:
	}

	// The quorum comes back after the first budget: the app runs.
	ctx, cancel = context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	<-formed // the cancelled Host's
	app = ranApp{ran: make(chan error, 1)}
	done = run(ctx, newHost(), app)
	<-formed
	waitRetrying(2, done)
	restart()
	select {
	case err := <-app.ran:
		if err != nil {
			t.Errorf("the app ran without the events stream: %v", err)
		}
	case err := <-done:
		t.Fatalf("Run returned before the app ran: %v", err)
	case <-ctx.Done():
		t.Fatalf("the app did not run once the quorum was back:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "events stream created: the apps start") {
		t.Errorf("no Info when the apps start:\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A Host whose events stream the server refuses (here: a stream of that
// name already exists in memory, and a stream's storage cannot change)
// logs the refusal as an error, runs no app, and tries again: once an
// operator removed the conflicting stream, the app runs, without a
// restart.
func TestHostRefusedStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := natstest.JetStream(t, "")
	conflicting := event.StreamConfig(1)
	conflicting.Storage = jetstream.MemoryStorage
	if _, err := js.CreateStream(ctx, conflicting); err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	h := &Host{Site: "lab", JS: js, Replicas: 1, Logger: logs.Logger(slog.LevelInfo),
		retry: backoff.Backoff{Min: 50 * time.Millisecond, Max: 100 * time.Millisecond}, refusedWait: 300 * time.Millisecond}
	app := ranApp{ran: make(chan error, 1)}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, Instance{Name: "a", Type: "test", App: app}) }()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "refused the events stream") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged in 10 s; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "bus.replicas") {
		t.Errorf("the refusal is not an error saying what to check:\n%s", l)
	}
	select {
	case <-app.ran:
		t.Fatal("the app ran without the events stream")
	case err := <-done:
		t.Fatalf("Run returned %v on a refusal: the apps would stay down until a restart", err)
	default:
	}

	if err := js.DeleteStream(ctx, event.Stream); err != nil { // the operator's fix
		t.Fatal(err)
	}
	select {
	case <-app.ran:
	case err := <-done:
		t.Fatalf("Run returned %v before the app ran", err)
	case <-time.After(15 * time.Second):
		t.Fatalf("the app did not run within 15 s of the conflicting stream's removal; logs:\n%s", logs.String())
	}
	if info, err := js.Stream(ctx, event.Stream); err != nil || info.CachedInfo().Config.Storage != jetstream.FileStorage {
		t.Errorf("events stream after the retry: %v %v, want it created on file", info, err)
	}
}
