package e2e

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The generated data set of BenchmarkDump and BenchmarkRestore: the same documents in both
// (BenchmarkDump imports them into a server, BenchmarkRestore writes them as a dump), so that
// dump and restore figures are about the same data. Four collections of different sizes, so
// that two threads both have work, each with a persistent index on "n". Documents are about
// 900 bytes: numbers, booleans, a nested object and a text of 100-140 words drawn at random
// (which compresses about 4:1, like real text rather than repeated filler).
var benchColls = []struct {
	name   string
	weight int64 // tenths of the data set
}{{"coll0", 4}, {"coll1", 3}, {"coll2", 2}, {"coll3", 1}}

// benchIndex is the index every benchmark collection has, as a structure file lists it.
var benchIndex = map[string]any{"type": "persistent", "fields": []string{"n"}, "name": "byN", "unique": false, "sparse": false}

var benchWords = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua Köln Zürich 東京 naïve café")

// benchDocGen generates the documents of one benchmark collection, the same sequence every time.
type benchDocGen struct {
	rng  *rand.Rand
	coll string
	i    int
	buf  []byte
}

func newBenchDocGen(collIndex int) *benchDocGen {
	return &benchDocGen{rng: rand.New(rand.NewPCG(uint64(collIndex), 42)), coll: benchColls[collIndex].name}
}

// next returns the key of the next document and its members after _key, closing brace
// included (`,"n":1,...}`); rest is valid until the following call.
func (g *benchDocGen) next() (key string, rest []byte) {
	i, rng := g.i, g.rng
	g.i++
	key = g.coll + strconv.Itoa(i)
	b := fmt.Appendf(g.buf[:0], `,"n":%d,"f":%g,"active":%v,"name":"user %d","email":"user%d@example.com","tags":["t%d","t%d"],"text":"`,
		i, rng.Float64()*1e6, rng.IntN(2) == 0, i, i, rng.IntN(50), rng.IntN(50))
	for w := 0; w < 100+rng.IntN(40); w++ {
		b = append(b, benchWords[rng.IntN(len(benchWords))]...)
		b = append(b, ' ')
	}
	b = append(b, `","nested":{"a":`+strconv.Itoa(rng.IntN(1000))+`,"b":"`+strconv.FormatUint(rng.Uint64(), 36)+`"}}`...)
	g.buf = b
	return key, b
}

// importLine appends the document as it is imported: {"_key":"...",...}\n. Its length is what
// the data set's size counts.
func importLine(dst []byte, key string, rest []byte) []byte {
	dst = append(dst, `{"_key":"`...)
	dst = append(dst, key...)
	dst = append(dst, '"')
	dst = append(dst, rest...)
	return append(dst, '\n')
}
