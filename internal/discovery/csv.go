package discovery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// identity columns, in the order of csvColumns.identity.
var identityColumns = [...]string{"site", "class", "subclass", "type", "id", "endpoint"}

const (
	colSite = iota
	colClass
	colSubclass
	colType
	colID
	colEndpoint
)

// reservedColumns are resource fields discovery sets itself.
var reservedColumns = map[string]bool{"plugin": true, "creation_timestamp": true, "metadata": true}

type metaColumn struct {
	index int
	name  string
}

// csvColumns maps the header to resource fields.
type csvColumns struct {
	identity [len(identityColumns)]int // column index, -1 when absent
	meta     []metaColumn
	warnings []string
	width    int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ParseCSV reads CSV with a header row from in. Columns site, class,
// subclass, type, id and endpoint (optionally prefixed resource_) fill the
// resource; every other column becomes resource_metadata (secret-looking
// columns are dropped with a warning). file names the input in messages,
// source is the resources' resource_plugin, now their creation time. A
// missing or unusable header fails the input; bad rows are rejected one by
// one with their physical line.
func ParseCSV(ctx context.Context, in io.Reader, file, source string, defaults Defaults, now time.Time) (*Result, error) {
	br := bufio.NewReader(in)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	r := csv.NewReader(br)
	r.Comment = '#'
	r.FieldsPerRecord = -1 // counted per row, so one bad row does not stop the file
	r.ReuseRecord = true

	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: the file is empty: expected a header row such as id,endpoint,site", file)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the header row: %w", file, err)
	}
	headerLine, _ := r.FieldPos(0)
	cols, err := parseHeader(header, file, headerLine)
	if err != nil {
		return nil, err
	}

	ts := float64(now.UnixMilli()) / 1000
	res := &Result{
		Set:      &resource.Set{CreationTimestamp: ts, SchemaVersion: resource.SetSchemaVersion},
		Warnings: cols.warnings,
	}
	reject := func(line int, format string, args ...any) {
		res.Rejected = append(res.Rejected, RowError{File: file, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	firstLine := map[string]int{} // resource key → line it was first seen on
	lastErrOffset := int64(-1)
	for {
		if res.Rows%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: read failed after %d rows: %w", file, res.Rows, err)
			}
			// The reader resumes after the bad record; stop if it cannot.
			off := r.InputOffset()
			if off == lastErrOffset {
				return nil, fmt.Errorf("%s:%d: CSV reader stuck: %w", file, pe.StartLine, err)
			}
			lastErrOffset = off
			res.Rows++
			reason := "malformed CSV: " + pe.Err.Error()
			if pe.Line != pe.StartLine {
				reason += fmt.Sprintf(" (at line %d)", pe.Line)
			}
			reject(pe.StartLine, "%s", reason)
			continue
		}
		if blankRecord(rec) {
			continue // spreadsheets export empty rows as ",,,,"
		}
		res.Rows++
		line, _ := r.FieldPos(0)
		if len(rec) != cols.width {
			reject(line, "row has %s, the header has %d", plural(len(rec), "field"), cols.width)
			continue
		}
		rsc, reason := cols.resource(rec, source, ts, defaults)
		if reason != "" {
			reject(line, "%s", reason)
			continue
		}
		key := rsc.Key()
		if first, dup := firstLine[key]; dup {
			reject(line, "duplicate resource %s: same site, class, subclass, type and id as line %d", key, first)
			continue
		}
		firstLine[key] = line
		res.Set.Resources = append(res.Set.Resources, rsc)
	}
	return res, nil
}

func blankRecord(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func parseHeader(header []string, file string, line int) (*csvColumns, error) {
	cols := &csvColumns{width: len(header)}
	for i := range cols.identity {
		cols.identity[i] = -1
	}
	seen := map[string]int{} // normalized name → 1-based column number
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			cols.warnings = append(cols.warnings, fmt.Sprintf("%s:%d: column %d has no name; its cells are ignored", file, line, i+1))
			continue
		}
		field := strings.TrimPrefix(name, "resource_")
		id := -1
		for j, c := range identityColumns {
			if field == c {
				id = j
			}
		}
		canonical := name
		if id >= 0 {
			canonical = identityColumns[id]
		}
		if prev, dup := seen[canonical]; dup {
			return nil, fmt.Errorf("%s:%d: columns %d and %d both give %s: remove one", file, line, prev, i+1, canonical)
		}
		seen[canonical] = i + 1
		switch {
		case id >= 0:
			cols.identity[id] = i
		case strings.HasPrefix(name, "resource_") && reservedColumns[field]:
			cols.warnings = append(cols.warnings, fmt.Sprintf("%s:%d: column %s is set by discovery; its cells are ignored", file, line, name))
		case IsSecretName(name):
			cols.warnings = append(cols.warnings, secretWarning(file, name))
		default:
			cols.meta = append(cols.meta, metaColumn{index: i, name: name})
		}
	}
	for _, req := range []int{colID, colEndpoint} {
		if cols.identity[req] < 0 {
			return nil, fmt.Errorf("%s:%d: the header has no %s column (or resource_%s); found: %s",
				file, line, identityColumns[req], identityColumns[req], strings.Join(header, ","))
		}
	}
	return cols, nil
}

// resource builds the row's resource, or returns why the row is rejected.
func (cols *csvColumns) resource(rec []string, source string, ts float64, d Defaults) (*resource.Resource, string) {
	cell := func(f int) string {
		if i := cols.identity[f]; i >= 0 {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	r := &resource.Resource{
		Site: cell(colSite), Class: cell(colClass), Subclass: cell(colSubclass), Type: cell(colType),
		ID: cell(colID), Endpoint: cell(colEndpoint),
		Metadata: make(map[string]string, len(cols.meta)), CreationTimestamp: ts, Plugin: source,
	}
	switch {
	case r.ID == "":
		return nil, "id is empty"
	case r.Endpoint == "":
		return nil, "endpoint is empty"
	case r.Site == "" && d.Site == "":
		return nil, "site is empty and discovery.defaults.site is not set"
	}
	applyDefaults(r, d)
	for _, m := range cols.meta {
		if v := strings.TrimSpace(rec[m.index]); v != "" {
			r.Metadata[m.name] = v
		}
	}
	if err := checkResource(r); err != nil {
		return nil, err.Error()
	}
	return r, ""
}
