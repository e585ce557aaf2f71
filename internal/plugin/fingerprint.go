package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Fingerprint identifies what the block says, for a config reload to tell
// a changed plugin instance from an unchanged one: its keys and values
// (key order, layout, comments, anchors and lines left out) and the
// content of every file a "<key>_file" names (a secret, a certificate), as
// it was when the file was loaded. Two blocks with the same fingerprint
// build the same plugin. It is a hash: no secret can be read back from it.
func (b Block) Fingerprint() string {
	if b.print != "" {
		return b.print
	}
	return b.fingerprint()
}

// fingerprint computes the fingerprint now (attach keeps it at load time,
// so that a file changed since shows as a change).
func (b Block) fingerprint() string {
	h := sha256.New()
	if b.err != nil {
		h.Write([]byte("error\x00" + b.err.Error()))
	}
	writeNode(h, b.mapping(), b.d(), "")
	return hex.EncodeToString(h.Sum(nil))
}

// writeNode writes a canonical form of n: mappings with their keys sorted
// (merged keys in, keys written beside a merge win), a "<key>_file"
// scalar followed by the file's hash.
func writeNode(h hash.Hash, n *yaml.Node, d *Doc, key string) {
	n = resolveAlias(n)
	if n == nil {
		h.Write([]byte{0})
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		keys, vals := flatMapping(n)
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a].Value, keys[b].Value) })
		h.Write([]byte("{"))
		for _, i := range order {
			writeString(h, keys[i].Value)
			writeNode(h, vals[i], d, keys[i].Value)
		}
		h.Write([]byte("}"))
	case yaml.SequenceNode:
		h.Write([]byte("["))
		for _, c := range n.Content {
			writeNode(h, c, d, "")
		}
		h.Write([]byte("]"))
	default:
		writeString(h, n.ShortTag())
		writeString(h, n.Value)
		if strings.HasSuffix(key, "_file") && strings.TrimSpace(n.Value) != "" {
			raw, err := readSecretFile(d.Abs(n.Value))
			if err != nil {
				writeString(h, "unreadable: "+err.Error())
			} else {
				sum := sha256.Sum256(raw)
				h.Write(sum[:])
			}
		}
	}
}

// flatMapping is n's keys and values with merged mappings brought in.
func flatMapping(n *yaml.Node) (keys, vals []*yaml.Node) {
	seen := map[string]bool{}
	var add func(n *yaml.Node)
	add = func(n *yaml.Node) {
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if isMerge(k) {
				merges = append(merges, mergedMappings(n.Content[i+1])...)
				continue
			}
			if seen[k.Value] {
				continue
			}
			seen[k.Value] = true
			keys, vals = append(keys, k), append(vals, n.Content[i+1])
		}
		for _, m := range merges {
			add(m)
		}
	}
	add(n)
	return keys, vals
}

func writeString(h hash.Hash, s string) {
	h.Write([]byte(s))
	h.Write([]byte{0})
}
