package dump

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The masking functions. v is a decoded JSON leaf: string, json.Number, bool or nil.

// hash is the keyed hash behind randomString, xifyFront's hash and email: 8 bytes of
// HMAC-SHA256 with the per-run secret (or the rule's seed), base64 encoded (12 characters),
// like arangodump's.
func (mk *masker) hash(s string, seed int64) string {
	key := mk.secret
	if seed != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(seed))
		key = b[:]
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil)[:8])
}

func (mk *masker) randomString(_ *MaskingRule, v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	return mk.hashString(s)
}

// hashString replaces s by its hash, repeated to s's length when s is longer.
func (mk *masker) hashString(s string) string {
	h := mk.hash(s, 0)
	if len(s) <= len(h) {
		return h
	}
	return strings.Repeat(h, len(s)/len(h)+1)[:len(s)]
}

func (mk *masker) random(_ *MaskingRule, v any) any {
	switch x := v.(type) {
	case string:
		return mk.hashString(x)
	case bool:
		return mk.rng.IntN(2) == 1
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return mk.rng.Int64N(2001) - 1000
		}
		return json.Number(strconv.FormatFloat(math.Round((mk.rng.Float64()*2000-1000)*100)/100, 'f', -1, 64))
	}
	return v // null stays null
}

func (mk *masker) xifyFront(r *MaskingRule, v any) any {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	default:
		return "xxxx"
	}
	out := []rune(s)
	isWord := func(ch rune) bool { return unicode.IsLetter(ch) || unicode.IsDigit(ch) || ch == '_' || ch == '-' }
	for i := 0; i < len(out); {
		if !isWord(out[i]) {
			out[i] = ' '
			i++
			continue
		}
		j := i
		for j < len(out) && isWord(out[j]) {
			j++
		}
		if j-i > r.unmaskedLength {
			for k := i; k < j-r.unmaskedLength; k++ {
				out[k] = 'x'
			}
		}
		i = j
	}
	res := string(out)
	if r.hash {
		res += " " + mk.hash(s, r.seed)
	}
	return res
}

// replaceChars swaps digits for random digits and letters for random letters (keeping
// the case); other characters stay.
func (mk *masker) replaceChars(s string) string {
	out := []rune(s)
	for i, ch := range out {
		switch {
		case unicode.IsDigit(ch):
			out[i] = rune('0' + mk.rng.IntN(10))
		case unicode.IsUpper(ch):
			out[i] = rune('A' + mk.rng.IntN(26))
		case unicode.IsLetter(ch):
			out[i] = rune('a' + mk.rng.IntN(26))
		}
	}
	return string(out)
}

func (mk *masker) zip(r *MaskingRule, v any) any {
	if s, ok := v.(string); ok {
		return mk.replaceChars(s)
	}
	return r.def
}

func (mk *masker) phone(r *MaskingRule, v any) any {
	if s, ok := v.(string); ok {
		return mk.replaceChars(s)
	}
	return r.def
}

func (mk *masker) integer(r *MaskingRule, _ any) any {
	return r.ilower + mk.rng.Int64N(r.iupper-r.ilower+1)
}

func (mk *masker) decimal(r *MaskingRule, _ any) any {
	f := r.lower + mk.rng.Float64()*(r.upper-r.lower)
	p := math.Pow(10, float64(r.scale))
	f = math.Round(f*p) / p
	f = min(max(f, r.lower), r.upper)
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

// creditCard returns a random 16-digit number passing the Luhn check, as a number.
func (mk *masker) creditCard(_ *MaskingRule, _ any) any {
	var d [16]int
	d[0] = 1 + mk.rng.IntN(9)
	for i := 1; i < 15; i++ {
		d[i] = mk.rng.IntN(10)
	}
	sum := 0
	for i := 0; i < 15; i++ {
		x := d[14-i]
		if i%2 == 0 { // doubled: every second digit from the right, check digit excluded
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	d[15] = (10 - sum%10) % 10
	var n int64
	for _, x := range d {
		n = n*10 + int64(x)
	}
	return n
}

func (mk *masker) email(_ *MaskingRule, v any) any {
	if v == nil {
		return nil
	}
	h := mk.hash(fmt.Sprint(v), 0) // 12 characters
	return h[0:4] + "." + h[4:8] + "@" + h[8:12] + ".invalid"
}

func (mk *masker) datetime(r *MaskingRule, _ any) any {
	end := r.end
	if mk.seeded && !r.endSet {
		end = seededDatetimeEnd
	}
	span := end.Sub(r.begin)
	t := r.begin
	if span > 0 {
		t = t.Add(time.Duration(mk.rng.Int64N(int64(span/time.Millisecond)+1)) * time.Millisecond)
	}
	return dateFormat(t, r.format)
}

// dateFormat implements AQL DATE_FORMAT's placeholders.
func dateFormat(t time.Time, f string) string {
	var b strings.Builder
	months := []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	days := []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	type ph struct {
		p  string
		fn func() string
	}
	pad := func(n, w int) string { return fmt.Sprintf("%0*d", w, n) }
	_, week := t.ISOWeek()
	leap := t.Year()%4 == 0 && (t.Year()%100 != 0 || t.Year()%400 == 0)
	daysIn := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	yyyyyy := func() string {
		y := t.Year()
		if y < 0 {
			return "-" + pad(-y, 6)
		}
		return "+" + pad(y, 6)
	}
	// longest placeholders first
	phs := []ph{
		{"%yyyyyy", yyyyyy},
		{"%mmmm", func() string { return months[t.Month()-1] }},
		{"%wwww", func() string { return days[t.Weekday()] }},
		{"%yyyy", func() string { return pad(t.Year(), 4) }},
		{"%mmm", func() string { return months[t.Month()-1][:3] }},
		{"%www", func() string { return days[t.Weekday()][:3] }},
		{"%fff", func() string { return pad(t.Nanosecond()/1e6, 3) }},
		{"%xxx", func() string { return pad(t.YearDay(), 3) }},
		{"%yy", func() string { return pad(t.Year()%100, 2) }},
		{"%mm", func() string { return pad(int(t.Month()), 2) }},
		{"%dd", func() string { return pad(t.Day(), 2) }},
		{"%hh", func() string { return pad(t.Hour(), 2) }},
		{"%ii", func() string { return pad(t.Minute(), 2) }},
		{"%ss", func() string { return pad(t.Second(), 2) }},
		{"%kk", func() string { return pad(week, 2) }},
		{"%t", func() string { return strconv.FormatInt(t.UnixMilli(), 10) }},
		{"%z", func() string { return t.Format("2006-01-02T15:04:05.000Z") }},
		{"%w", func() string { return strconv.Itoa(int(t.Weekday())) }},
		{"%y", func() string { return strconv.Itoa(t.Year()) }},
		{"%m", func() string { return strconv.Itoa(int(t.Month())) }},
		{"%d", func() string { return strconv.Itoa(t.Day()) }},
		{"%h", func() string { return strconv.Itoa(t.Hour()) }},
		{"%i", func() string { return strconv.Itoa(t.Minute()) }},
		{"%s", func() string { return strconv.Itoa(t.Second()) }},
		{"%f", func() string { return strconv.Itoa(t.Nanosecond() / 1e6) }},
		{"%x", func() string { return strconv.Itoa(t.YearDay()) }},
		{"%k", func() string { return strconv.Itoa(week) }},
		{"%l", func() string {
			if leap {
				return "1"
			}
			return "0"
		}},
		{"%q", func() string { return strconv.Itoa((int(t.Month())-1)/3 + 1) }},
		{"%a", func() string { return strconv.Itoa(daysIn) }},
		{"%&", func() string { return "" }},
		{"%%", func() string { return "%" }},
	}
outer:
	for i := 0; i < len(f); {
		if f[i] == '%' {
			for _, p := range phs {
				if strings.HasPrefix(f[i:], p.p) {
					b.WriteString(p.fn())
					i += len(p.p)
					continue outer
				}
			}
		}
		b.WriteByte(f[i])
		i++
	}
	return b.String()
}
