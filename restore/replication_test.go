package restore

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
)

func rfPlan(t *testing.T, params string) *CollectionPlan {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(params), &p); err != nil {
		t.Fatal(err)
	}
	s, _ := json.Marshal(map[string]any{"indexes": []any{}, "parameters": p})
	return &CollectionPlan{Source: &format.Collection{Name: p["name"].(string)}, Target: p["name"].(string), Structure: s}
}

// The server's own refusals (when the limits could not be read beforehand) become messages
// naming the collection's --replication-factor / --write-concern override.
func TestExplainReplicationError(t *testing.T) {
	e := &engine{limits: clusterLimits{dbServers: 2}}
	c := rfPlan(t, `{"name":"users","replicationFactor":3}`)
	for _, tc := range []struct {
		err  *client.ServerError
		want []string
	}{
		{&client.ServerError{Status: 500, ErrorNum: 1487, Message: "the number of current DB-Servers is lower than the requested replicationFactor/writeConcern"},
			[]string{"replicationFactor 3", "DB-Servers (2)", "--replication-factor users=2", "--replication-factor 2 for all collections", "error 1487"}},
		{&client.ServerError{Status: 400, ErrorNum: 10, Message: "replicationFactor must not be lower than minimum allowed replicationFactor (4)"},
			[]string{"below the target cluster's minimum 4", "--replication-factor users=4"}},
		{&client.ServerError{Status: 400, ErrorNum: 10, Message: "replicationFactor must not be higher than maximum allowed replicationFactor (2)"},
			[]string{"above the target cluster's maximum 2", "--replication-factor users=2"}},
		{&client.ServerError{Status: 400, ErrorNum: 10, Message: "writeConcern must not be higher than replicationFactor"},
			[]string{"--write-concern users=3"}},
	} {
		got := e.explainReplicationError("shop", c, tc.err)
		if got == nil {
			t.Fatalf("%v: not explained", tc.err)
		}
		for _, w := range tc.want {
			if !strings.Contains(got.Error(), w) {
				t.Errorf("%q lacks %q", got, w)
			}
		}
	}
	if e.explainReplicationError("shop", c, &client.ServerError{Status: 409, ErrorNum: 1207, Message: "duplicate collection name 'users'"}) != nil {
		t.Error("a duplicate name was taken for a replication factor refusal")
	}
}

func TestClusterLimitsFitAndLoadFactor(t *testing.T) {
	l := clusterLimits{dbServers: 3, minRF: 2, maxRF: 10}
	for rf, want := range map[int]int{1: 2, 2: 2, 3: 3, 4: 3} {
		if _, got := l.fits(rf); got != want {
			t.Errorf("fits(%d) suggests %d, want %d", rf, got, want)
		}
	}
	// Fast cluster restore: loaded with 1 in the plan, raised to the minimum 2, final 3 kept.
	c := rfPlan(t, `{"name":"a","replicationFactor":1,"writeConcern":1}`)
	c.LoadReplicationFactor, c.FinalReplicationFactor = 1, json.RawMessage("3")
	if err := c.fitMinimum(2); err != nil {
		t.Fatal(err)
	}
	if rf, _, _, _ := collectionFactors(c.Structure); rf != 2 || c.LoadReplicationFactor != 2 || string(c.FinalReplicationFactor.(json.RawMessage)) != "3" {
		t.Fatalf("load %d (%d), final %v", rf, c.LoadReplicationFactor, c.FinalReplicationFactor)
	}
	// Final factor 2 = the minimum: created with it directly, nothing to raise.
	c = rfPlan(t, `{"name":"b","replicationFactor":1,"writeConcern":1}`)
	c.LoadReplicationFactor, c.FinalReplicationFactor, c.FinalWriteConcern = 1, json.RawMessage("2"), json.RawMessage("2")
	if err := c.fitMinimum(2); err != nil {
		t.Fatal(err)
	}
	if rf, wc, _, _ := collectionFactors(c.Structure); rf != 2 || wc != 2 || c.FinalReplicationFactor != nil || c.LoadReplicationFactor != 0 {
		t.Fatalf("load %d/%d, final %v", rf, wc, c.FinalReplicationFactor)
	}
}
