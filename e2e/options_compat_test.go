package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOptionsMatchArangoTools compares our --dump-options with the real 3.12 tools', option by
// option. The real lists in testdata/options-3.12 are arangodb/docs-hugo's
// site/data/3.12/{arangodump,arangorestore,arangobackup}.json (generated there from the shipped
// binaries' --dump-options), copied verbatim at docs-hugo commit
// c5197f4f6c0f458a6ac0f4676fe89456ca36cbf4.
//
// It fails on an option of the real tool that we do not list ("missing"), on a different type,
// and on a different default, unless the allow-lists below name the option with a reason.
// A different hidden flag and the options only we have are logged, not failed on; an option
// that differs only in its hidden flag counts as "same".
//
// To allow a difference, add the option to the list of its kind under the real tool's name, with
// a one-line reason. An option we refuse (accept the name, then exit with a clear message) is
// still listed by us, so refusing never needs an entry in allowMissing; an entry there must say
// why a user of the real tool can never be helped by us accepting the name.
func TestOptionsMatchArangoTools(t *testing.T) {
	tools := []struct {
		real string   // file name under testdata/options-3.12, without .json
		bin  string   // our binary
		args []string // arguments before --dump-options
	}{
		{"arangodump", "godump", nil},
		{"arangorestore", "gorestore", nil},
		{"arangobackup", "godump", []string{"hotbackup"}},
	}
	for _, tool := range tools {
		t.Run(tool.real, func(t *testing.T) {
			real := readOptionsFile(t, filepath.Join("testdata", "options-3.12", tool.real+".json"))
			args := append(slices.Clone(tool.args), "--dump-options")
			res := runTool(t, tool.bin, args...)
			if res.Code != 0 {
				t.Fatalf("%s %s: %s", tool.bin, strings.Join(args, " "), res)
			}
			ours, err := decodeOptions([]byte(res.Stdout))
			if err != nil {
				t.Fatalf("%s %s: decode: %v", tool.bin, strings.Join(args, " "), err)
			}
			compareOptions(t, tool.real, real, ours)
		})
	}
}

// allowMissing: options of the real tool we do not list, by real tool name, with the reason.
var allowMissing = map[string]map[string]string{
	"arangodump":    {},
	"arangorestore": {},
	"arangobackup":  {},
}

// allowType: options whose type we print differently, with the reason.
var allowType = map[string]map[string]string{
	"arangodump":    {},
	"arangorestore": {},
	"arangobackup":  {},
}

// allowDefault: options whose default we print differently, with the reason.
var allowDefault = map[string]map[string]string{
	"arangodump": {
		"threads":               "real max(2, cores): machine-dependent (8 on the machine that generated the docs); ours the same formula",
		"output-directory":      "real <cwd>/dump, resolved when the docs were generated in /; ours \"dump\", the same directory relative to the working directory",
		"local-network-threads": "real: requests in flight per DB-Server, 4; ours: per running job, each holding a batch of up to --max-batch-memory, 2 with --threads jobs at once (memory bound of the peak RSS goal)",
	},
	"arangorestore": {
		"threads":         "real max(2, cores): machine-dependent (8 on the machine that generated the docs); ours the same formula",
		"input-directory": "real <cwd>/dump, resolved when the docs were generated in /; ours \"dump\", the same directory relative to the working directory",
	},
	"arangobackup": {},
}

// optionSpec is the part of one --dump-options entry that we compare.
type optionSpec struct {
	Category    string          `json:"category"`
	Type        string          `json:"type"`
	Default     json.RawMessage `json:"default"` // absent for commands such as --version
	Hidden      bool            `json:"hidden"`
	Description string          `json:"description"`
}

func readOptionsFile(t *testing.T, path string) map[string]optionSpec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read real options: %v", err)
	}
	opts, err := decodeOptions(data)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return opts
}

func decodeOptions(data []byte) (map[string]optionSpec, error) {
	var opts map[string]optionSpec
	if err := json.Unmarshal(data, &opts); err != nil {
		return nil, err
	}
	if len(opts) == 0 {
		return nil, fmt.Errorf("no options")
	}
	return opts, nil
}

// normDefault renders a default as a comparable string: numbers in their shortest decimal form
// (uint64 maxima stay exact), booleans as true/false, arrays as [a,b], an absent default as
// <none> (as is a null one: both mean "no default").
func normDefault(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "<none>"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "<invalid " + string(raw) + ">"
	}
	return normValue(v)
}

func normValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return v
	case json.Number:
		s := v.String()
		if _, err := strconv.ParseUint(s, 10, 64); err == nil {
			return s
		}
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return s
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return s
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = normValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func compareOptions(t *testing.T, tool string, real, ours map[string]optionSpec) {
	t.Helper()
	names := make([]string, 0, len(real))
	for name := range real {
		names = append(names, name)
	}
	slices.Sort(names)

	var same, defaults, types, missing int
	for _, name := range names {
		r := real[name]
		o, ok := ours[name]
		if !ok {
			missing++
			if why, allowed := allowMissing[tool][name]; allowed {
				t.Logf("missing (allowed: %s): --%s (%s, default %s)", why, name, r.Type, normDefault(r.Default))
			} else {
				t.Errorf("missing: --%s (real: %s, default %s, hidden %v): %s", name, r.Type, normDefault(r.Default), r.Hidden, r.Description)
			}
			continue
		}
		differs := false
		if r.Type != o.Type {
			differs = true
			types++
			if why, allowed := allowType[tool][name]; allowed {
				t.Logf("type (allowed: %s): --%s real %s, ours %s", why, name, r.Type, o.Type)
			} else {
				t.Errorf("type: --%s real %s, ours %s", name, r.Type, o.Type)
			}
		}
		if rd, od := normDefault(r.Default), normDefault(o.Default); rd != od {
			differs = true
			defaults++
			if why, allowed := allowDefault[tool][name]; allowed {
				t.Logf("default (allowed: %s): --%s real %s, ours %s", why, name, rd, od)
			} else {
				t.Errorf("default: --%s real %s, ours %s", name, rd, od)
			}
		}
		if r.Hidden != o.Hidden {
			t.Logf("hidden (informational): --%s real %v, ours %v", name, r.Hidden, o.Hidden)
		}
		if !differs {
			same++
		}
	}

	var onlyOurs []string
	for name := range ours {
		if _, ok := real[name]; !ok {
			onlyOurs = append(onlyOurs, "--"+name)
		}
	}
	slices.Sort(onlyOurs)
	if len(onlyOurs) > 0 {
		t.Logf("only ours (informational): %s", strings.Join(onlyOurs, " "))
	}

	// An allow-list entry whose option now matches is stale: say so, so that it gets removed.
	stale := func(kind string, list map[string]string, still func(string) bool) {
		for name := range list {
			if !still(name) {
				t.Logf("stale allow%s entry for %s: --%s no longer differs", kind, tool, name)
			}
		}
	}
	stale("Missing", allowMissing[tool], func(n string) bool { _, ok := ours[n]; return !ok && real[n].Type != "" })
	stale("Type", allowType[tool], func(n string) bool { o, ok := ours[n]; return ok && o.Type != real[n].Type })
	stale("Default", allowDefault[tool], func(n string) bool {
		o, ok := ours[n]
		return ok && normDefault(o.Default) != normDefault(real[n].Default)
	})

	t.Logf("%s: %d real options: %d same, %d different default, %d different type, %d missing; %d only ours",
		tool, len(real), same, defaults, types, missing, len(onlyOurs))
}
