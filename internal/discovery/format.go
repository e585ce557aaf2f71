package discovery

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"
	"time"
)

// Formats of a command's output or an HTTP body.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// DefaultSourceTimeout bounds one run of a command or HTTP source when the
// config gives none.
const DefaultSourceTimeout = time.Minute

// MaxSourceOutput is the largest command output or HTTP body read; a CMDB
// export of 100 000 devices is a few tens of MB.
const MaxSourceOutput = 256 << 20

// ParseOutput parses data (a command's stdout or an HTTP body) as format,
// or as what it looks like when format is empty. name identifies the
// origin in messages ("command cmdb.sh", a redacted URL). Empty output is an
// error, so that a silent failure keeps the previous inventory.
func ParseOutput(ctx context.Context, data []byte, format, name, source string, d Defaults, now time.Time) (*Result, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s: the output is empty: expected CSV with a header row or JSON resources", name)
	}
	if format == "" {
		format = sniffFormat(trimmed)
	}
	switch format {
	case FormatCSV:
		return ParseCSV(ctx, bytes.NewReader(data), name, source, d, now)
	case FormatJSON:
		return ParseJSON(ctx, data, name, source, d, now)
	}
	return nil, fmt.Errorf("%s: unknown format %q: want csv or json", name, format)
}

// sniffFormat calls output starting with { or [ JSON, anything else CSV.
func sniffFormat(trimmed []byte) string {
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return FormatJSON
	}
	return FormatCSV
}

// FormatOfContentType maps an HTTP Content-Type to a format, "" when it
// says neither (text/plain, application/octet-stream...).
func FormatOfContentType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	switch {
	case mt == "text/csv" || mt == "application/csv" || mt == "text/comma-separated-values":
		return FormatCSV
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json":
		return FormatJSON
	}
	return ""
}

// CheckFormat reports why f is not a format a source may be told to
// read ("" means detect it).
func CheckFormat(f string) error {
	if f != "" && f != FormatCSV && f != FormatJSON {
		return fmt.Errorf("%q is not one of: %s, %s", f, FormatCSV, FormatJSON)
	}
	return nil
}
