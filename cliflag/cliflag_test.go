package cliflag

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestParseArangoStyleBooleans(t *testing.T) {
	cases := []struct {
		args     []string
		compress bool
		overwr   bool
		pos      []string
		colls    []string
	}{
		{[]string{"--compress-output", "false", "out"}, false, false, []string{"out"}, nil},
		{[]string{"--compress-output=false"}, false, false, nil, nil},
		{[]string{"--compress-output", "--overwrite", "dir"}, true, true, []string{"dir"}, nil},
		{[]string{"--overwrite", "yes", "--compress-output", "off"}, false, true, nil, nil},
		{[]string{"--overwrite", "true", "--collection", "a", "--collection", "b"}, true, true, nil, []string{"a", "b"}},
		{[]string{"--collection", "false"}, true, false, nil, []string{"false"}},
		{[]string{"--", "--overwrite", "false"}, true, false, []string{"--overwrite", "false"}, nil},
	}
	for _, c := range cases {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		compress := Bool(fs, "compress-output", true, "")
		overwrite := Bool(fs, "overwrite", false, "")
		colls := fs.StringArray("collection", nil, "")
		if err := Parse(fs, c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if *compress != c.compress || *overwrite != c.overwr {
			t.Errorf("%v: compress=%v overwrite=%v, want %v %v", c.args, *compress, *overwrite, c.compress, c.overwr)
		}
		if got := fs.Args(); len(got) != len(c.pos) || (len(got) > 0 && got[0] != c.pos[0]) {
			t.Errorf("%v: positional %v, want %v", c.args, got, c.pos)
		}
		if len(*colls) != len(c.colls) {
			t.Errorf("%v: collections %v, want %v", c.args, *colls, c.colls)
		}
		for i := range c.colls {
			if (*colls)[i] != c.colls[i] {
				t.Errorf("%v: collections %v, want %v", c.args, *colls, c.colls)
			}
		}
	}
}

func TestParseRejectsBadBoolean(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Bool(fs, "overwrite", false, "")
	if err := Parse(fs, []string{"--overwrite=maybe"}); err == nil {
		t.Fatal("want an error for --overwrite=maybe")
	}
}
