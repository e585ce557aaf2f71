package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/node"
)

const reloadTimeout = 60 * time.Second

func reloadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reload", "--config FILE [--url URL] [--user NAME] [--ca-file FILE]",
		"Ask a running node to reload its config (POST /-/reload on its http.listen, as\n"+
			"'systemctl reload panoptes' or 'kill -HUP' do): changed polling plugins, sinks, inputs,\n"+
			"apps and discovery sources are swapped, unchanged ones keep running. The node refuses a\n"+
			"config that does not load (every problem is printed) or that changes a key only a restart\n"+
			"applies (bus, cluster, data_dir, http, site, roles, ...), and keeps running on the old one.\n"+
			"With http.basic_auth_users the password is read from PANOPTES_HTTP_PASSWORD.", stderr)
	path := fs.String("config", "panoptes.yaml", "the node's config file (checked here first; gives the address)")
	url := fs.String("url", "", "the node's HTTP address (default: from the config's http.listen)")
	user := fs.String("user", "", "basic auth user (the password comes from PANOPTES_HTTP_PASSWORD)")
	caFile := fs.String("ca-file", "", "CA that signed the node's certificate (https)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, node.Check)
	if err != nil {
		return fmt.Errorf("not reloaded, the node would refuse this config:\n%w", err)
	}
	u := *url
	if u == "" {
		if u, err = reloadURL(cfg); err != nil {
			return err
		}
	}
	client := &http.Client{Timeout: reloadTimeout}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s: no PEM certificate in it", *caFile)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(u, "/")+"/-/reload", nil)
	if err != nil {
		return err
	}
	if *user != "" {
		req.SetBasicAuth(*user, os.Getenv("PANOPTES_HTTP_PASSWORD"))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reach the node: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	msg := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusOK:
		fmt.Fprintln(stdout, msg)
		return nil
	case http.StatusUnauthorized:
		return errors.New("the node asks for a login: give --user and PANOPTES_HTTP_PASSWORD (http.basic_auth_users)")
	}
	return fmt.Errorf("%s (HTTP %d)", msg, resp.StatusCode)
}

// reloadURL is the node's address from its http.listen: https when it
// serves TLS, a wildcard host reached on loopback.
func reloadURL(cfg *config.Config) (string, error) {
	listen := cfg.HTTP.Listen
	if listen == "" || !cfg.HasRole(config.RoleHTTP) {
		return "", errors.New("the config serves no HTTP (http.listen is empty or the http role is off): the node can only be reloaded with SIGHUP ('systemctl reload panoptes')")
	}
	scheme := "http"
	if cfg.HTTP.TLS.CertFile != "" {
		scheme = "https"
	}
	switch {
	case strings.HasPrefix(listen, ":"):
		listen = "127.0.0.1" + listen
	case strings.HasPrefix(listen, "0.0.0.0:"):
		listen = "127.0.0.1" + strings.TrimPrefix(listen, "0.0.0.0")
	case strings.HasPrefix(listen, "[::]:"):
		listen = "[::1]" + strings.TrimPrefix(listen, "[::]")
	}
	return scheme + "://" + listen, nil
}
