//go:build windows || plan9

package clilog

import "errors"

func openSyslog(facility, ident string) (syslogOutput, error) {
	return nil, errors.New("syslog is not available on this system")
}
