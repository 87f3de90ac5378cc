package client

import (
	"fmt"
	"strconv"
	"time"
)

// secondsValue is a duration flag that takes arangodump's form, a number of seconds
// (`--server.request-timeout 1200`, `0.5`), as well as Go's (`20m`, `1500ms`).
type secondsValue time.Duration

func (s *secondsValue) String() string {
	return strconv.FormatFloat(time.Duration(*s).Seconds(), 'f', -1, 64)
}

func (s *secondsValue) Type() string { return "seconds" }

func (s *secondsValue) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return fmt.Errorf("negative time %q", v)
		}
		*s = secondsValue(time.Duration(f * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("invalid time %q: want seconds (1200, 0.5) or a duration (20m)", v)
	}
	*s = secondsValue(d)
	return nil
}
