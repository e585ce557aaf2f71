package influx

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestStartKillRestart: a point written before a kill is there after the
// restart on the same data, and the server answers on the same URL.
func TestStartKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts InfluxDB")
	}
	s := Start(t)
	s.CreateDatabase("t")
	resp, err := http.Post(s.URL+"/write?db=t&precision=ms", "text/plain", strings.NewReader("m,k=v f=42i 1700000000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: HTTP %d", resp.StatusCode)
	}
	s.Kill()
	if _, err := http.Get(s.URL + "/ping"); err == nil {
		t.Fatal("server still answers after Kill")
	}
	s.Restart()
	series := s.Query("t", "SELECT f, k FROM m")
	if len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("after restart: %+v", series)
	}
	row := series[0].Values[0]
	if row[0] != json.Number("1700000000000") || row[1] != json.Number("42") || row[2] != "v" {
		t.Errorf("row %v, want [1700000000000 42 v]", row)
	}
}
