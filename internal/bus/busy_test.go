package bus_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
)

// A busy bus.listen port fails Open with one line: the key, the address
// once, what to do.
func TestBusyListenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Listen: ln.Addr().String(), MaxBytes: 64 << 20})
	if err == nil {
		b.Close()
		t.Fatal("Open on a busy port succeeded")
	}
	want := "bus: bus.listen " + ln.Addr().String() + ": address already in use (another panoptes or NATS server?); set bus.listen to a free address"
	if err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}
