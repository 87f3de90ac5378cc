//go:build !windows && !plan9

package clilog

import (
	"log/slog"
	"log/syslog"
)

// syslogFacilities are the names of syslog_names.h.
var syslogFacilities = map[string]syslog.Priority{
	"auth": syslog.LOG_AUTH, "authpriv": syslog.LOG_AUTHPRIV, "cron": syslog.LOG_CRON,
	"daemon": syslog.LOG_DAEMON, "ftp": syslog.LOG_FTP, "kern": syslog.LOG_KERN,
	"lpr": syslog.LOG_LPR, "mail": syslog.LOG_MAIL, "news": syslog.LOG_NEWS,
	"security": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG, "user": syslog.LOG_USER,
	"uucp": syslog.LOG_UUCP, "local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1,
	"local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3, "local4": syslog.LOG_LOCAL4,
	"local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

type syslogSink struct{ w *syslog.Writer }

// openSyslog connects to the local syslog daemon. An unknown facility means local0, as in
// LogAppenderSyslog.
func openSyslog(facility, ident string) (syslogOutput, error) {
	p, ok := syslogFacilities[facility]
	if !ok {
		p = syslog.LOG_LOCAL0
		if n, err := parseSmallInt(facility); err == nil && n < 24 {
			p = syslog.Priority(n << 3)
		}
	}
	w, err := syslog.New(p|syslog.LOG_NOTICE, ident)
	if err != nil {
		return nil, err
	}
	return syslogSink{w}, nil
}

// write maps levels as LogAppenderSyslog::logMessage does.
func (s syslogSink) write(l slog.Level, msg string) error {
	switch {
	case l >= LevelFatal:
		return s.w.Crit(msg)
	case l >= slog.LevelError:
		return s.w.Err(msg)
	case l >= slog.LevelWarn:
		return s.w.Warning(msg)
	case l >= slog.LevelInfo:
		return s.w.Notice(msg)
	case l >= slog.LevelDebug:
		return s.w.Info(msg)
	}
	return s.w.Debug(msg)
}

func (s syslogSink) Close() error { return s.w.Close() }
