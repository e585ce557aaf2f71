// Package sdnotify tells systemd how the service is doing (sd_notify(3)), for a
// unit with Type=notify: READY=1 once the node polls and its bus answers,
// RELOADING=1 while it reloads its config (READY=1 again after, with the
// outcome in STATUS), STOPPING=1 when it begins a graceful stop. Outside
// systemd ($NOTIFY_SOCKET
// unset) it does nothing. A few lines over a datagram socket instead of a
// dependency.
package sdnotify

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Send writes state (newline-separated VAR=value assignments) to
// $NOTIFY_SOCKET. A path starting with '@' is in the abstract namespace,
// which Go's net package maps as systemd means it.
func Send(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd at NOTIFY_SOCKET=%s: %w", path, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify systemd at NOTIFY_SOCKET=%s: %w", path, err)
	}
	return nil
}

// Ready reports a change of readiness: ready sends READY=1, not ready
// STOPPING=1 (the node is ready once, and becomes unready only to stop).
func Ready(ready bool) error {
	if ready {
		return Send("READY=1\nSTATUS=running")
	}
	return Send("STOPPING=1\nSTATUS=stopping: running checks finish, sinks catch up")
}

// Reloading says a config reload begins: systemd shows the unit as
// reloading until Reloaded. MONOTONIC_USEC (CLOCK_MONOTONIC) is what a
// Type=notify-reload unit also requires.
func Reloading() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("notify systemd: read CLOCK_MONOTONIC: %w", err)
	}
	return Send(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d\nSTATUS=reloading the config", ts.Nano()/1000))
}

// Reloaded says the reload ended (applied or refused: the node runs
// either way), with outcome in the unit's status line.
func Reloaded(outcome string) error {
	return Send("READY=1\nSTATUS=running; last reload: " + outcome)
}
