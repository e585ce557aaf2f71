// Package daemon runs a server binary for a test (Prometheus,
// Alertmanager, ...): in its own process group, its output in a log file,
// ready once a URL answers 200, stopped at the end of the test with its
// log shown when the test failed.
package daemon

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Need skips the test when binary is "" (not installed), and fails it
// instead when the environment variable CI is "true": nothing skips in CI.
// how says how to install it.
func Need(t testing.TB, name, binary, how string) {
	t.Helper()
	if binary != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found (CI=true): %s", name, how)
	}
	t.Skipf("%s not found; %s", name, how)
}

// Start runs cmd with its output appended to logFile and waits up to
// timeout for readyURL to answer 200. On success the process is stopped
// in t.Cleanup (SIGTERM, SIGKILL after 10 s). On failure it is stopped
// now and the error carries the log's tail, so a caller may retry (e.g.
// on another port).
func Start(t testing.TB, name string, cmd *exec.Cmd, logFile, readyURL string, timeout time.Duration) error {
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := waitReady(name, readyURL, exited, timeout); err != nil {
		stop()
		return fmt.Errorf("%w\n%s", err, Tail(logFile))
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, Tail(logFile))
		}
	})
	return nil
}

func waitReady(name, url string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited during startup", name)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s at %s not ready after %s", name, url, timeout)
}

// Tail returns the last 4 KiB of a log file ("" when it cannot be read).
func Tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}
