package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// jsonParser walks a resource set token by token so each resource can be
// reported with its index and line.
type jsonParser struct {
	ctx      context.Context
	data     []byte
	dec      *json.Decoder
	file     string
	source   string
	defaults Defaults
	ts       float64
	res      *Result
	secrets  secretDropper
	first    map[string]int // resource key → index it was first seen at
	lines    []int          // line of each element, by index
	// incremental offset → line conversion
	pos, line int
}

// ParseJSON reads a Panoptes resource set ({"resources":[...], ...}) or a
// bare array of resources, as a CMDB export or the original Panoptes would
// write it. Invalid JSON (a truncated file) fails the input; resources that
// do not validate are rejected one by one with their index and line.
func ParseJSON(ctx context.Context, data []byte, file, source string, defaults Defaults, now time.Time) (*Result, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	ts := float64(now.UnixMilli()) / 1000
	p := &jsonParser{
		ctx: ctx, data: data, dec: json.NewDecoder(bytes.NewReader(data)),
		file: file, source: source, defaults: defaults, ts: ts, line: 1,
		res:   &Result{Set: &resource.Set{CreationTimestamp: ts, SchemaVersion: resource.SetSchemaVersion}},
		first: map[string]int{},
	}
	tok, err := p.dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: the file is empty: expected a resource set {\"resources\":[...]}", file)
	}
	if err != nil {
		return nil, p.syntaxErr(err)
	}
	switch tok {
	case json.Delim('['):
		err = p.resources()
	case json.Delim('{'):
		err = p.set()
	default:
		err = fmt.Errorf("%s: expected a resource set {\"resources\":[...]} or an array of resources, found %v", file, tok)
	}
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: unexpected data after the resource set", file, p.lineAt(p.dec.InputOffset()))
	}
	p.res.Warnings = p.secrets.warnings(file)
	return p.res, nil
}

// set reads the members of a resource set object; only "resources" matters.
func (p *jsonParser) set() error {
	found := false
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntaxErr(err)
		}
		if key, _ := tok.(string); key == "resources" {
			if found {
				return fmt.Errorf("%s:%d: \"resources\" appears twice", p.file, p.lineAt(p.dec.InputOffset()))
			}
			found = true
			open, err := p.dec.Token()
			if err != nil {
				return p.syntaxErr(err)
			}
			if open != json.Delim('[') {
				return fmt.Errorf("%s:%d: \"resources\" must be an array, found %v", p.file, p.lineAt(p.dec.InputOffset()), open)
			}
			if err := p.resources(); err != nil {
				return err
			}
			continue
		}
		var skip json.RawMessage
		if err := p.dec.Decode(&skip); err != nil {
			return p.syntaxErr(err)
		}
	}
	if _, err := p.dec.Token(); err != nil { // closing '}'
		return p.syntaxErr(err)
	}
	if !found {
		return fmt.Errorf("%s: no \"resources\" array: expected a Panoptes resource set {\"resources\":[...]} or an array of resources", p.file)
	}
	return nil
}

// resources reads array elements after the opening '[' up to the closing ']'.
func (p *jsonParser) resources() error {
	for idx := 0; p.dec.More(); idx++ {
		if idx%256 == 0 {
			if err := p.ctx.Err(); err != nil {
				return err
			}
		}
		line := p.lineAt(p.valueStart(p.dec.InputOffset()))
		var raw json.RawMessage
		if err := p.dec.Decode(&raw); err != nil {
			return p.syntaxErr(err)
		}
		p.res.Rows++
		p.lines = append(p.lines, line)
		r, reason := p.resource(raw)
		if reason == "" {
			key := r.Key()
			if first, dup := p.first[key]; dup {
				reason = fmt.Sprintf("duplicate resource %s: same identity as resources[%d] (line %d)", key, first, p.lines[first])
			} else {
				p.first[key] = idx
				p.res.Set.Resources = append(p.res.Set.Resources, r)
				continue
			}
		}
		p.res.Rejected = append(p.res.Rejected, RowError{File: p.file, Line: line, Reason: fmt.Sprintf("resources[%d]: %s", idx, reason)})
	}
	if _, err := p.dec.Token(); err != nil { // closing ']'
		return p.syntaxErr(err)
	}
	return nil
}

func (p *jsonParser) resource(raw json.RawMessage) (*resource.Resource, string) {
	if bytes.Equal(raw, []byte("null")) {
		return nil, "resource is null"
	}
	r := &resource.Resource{}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, "not a valid resource: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	trimIdentity(r)
	applyDefaults(r, p.defaults)
	r.Plugin = p.source
	if r.CreationTimestamp <= 0 {
		r.CreationTimestamp = p.ts
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	p.secrets.scrub(r.Metadata)
	if err := checkResource(r); err != nil {
		return nil, err.Error()
	}
	return r, ""
}

// valueStart skips the whitespace and comma between the decoder's offset
// and the next value.
func (p *jsonParser) valueStart(off int64) int64 {
	for off < int64(len(p.data)) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineAt converts a byte offset to a 1-based line. Offsets only grow while
// parsing, so it counts incrementally.
func (p *jsonParser) lineAt(off int64) int {
	end := min(int(off), len(p.data))
	if end < p.pos {
		return 1 + bytes.Count(p.data[:end], []byte{'\n'})
	}
	p.line += bytes.Count(p.data[p.pos:end], []byte{'\n'})
	p.pos = end
	return p.line
}

func (p *jsonParser) syntaxErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s:%d: invalid JSON: %w", p.file, p.lineAt(se.Offset), err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: invalid JSON: the file ends early (truncated?)", p.file)
	}
	return fmt.Errorf("%s: invalid JSON: %w", p.file, err)
}
