package clilog

import "log/slog"

// Levels beyond slog's four. ArangoDB has six (fatal, error, warning, info, debug, trace);
// slog's Debug, Info, Warn and Error stand for the middle four.
const (
	LevelTrace = slog.Level(-8)
	LevelFatal = slog.Level(12)
)

// levelOff is above every level a record can have: the topic is silent.
const levelOff = slog.Level(1 << 20)

// levelDefault marks a topic without a level of its own ("DEFAULT" in ArangoDB): it follows
// the general level, but an output never shows more than info for it
// (LogAppender::logMessageGuarded). It sorts above every real level, so the most verbose of
// several levels is their minimum, as in Logger::calculateEffectiveLogLevels.
const levelDefault = slog.Level(1 << 21)

// Topic names used by this module. Any real ArangoDB topic name is accepted as well.
const (
	TopicGeneral  = "general"
	TopicRequests = "requests" // one Debug record per HTTP request
)

// topicDef is one ArangoDB log topic with its default level (lib/Logger/Topics.h, 3.12).
type topicDef struct {
	name  string
	level slog.Level
}

// topics lists ArangoDB 3.12's topics in lib/Logger/Topics.h order, with the Enterprise
// Edition's audit topics (the Enterprise client tools accept them too).
var topics = []topicDef{
	{"agency", slog.LevelInfo},
	{"agencycomm", slog.LevelInfo},
	{"agencystore", slog.LevelWarn},
	{"aql", slog.LevelInfo},
	{"authentication", slog.LevelWarn},
	{"authorization", levelDefault},
	{"backup", levelDefault},
	{"bench", levelDefault},
	{"cache", slog.LevelInfo},
	{"cluster", slog.LevelInfo},
	{"communication", slog.LevelInfo},
	{"config", levelDefault},
	{"crash", levelDefault},
	{"development", LevelFatal},
	{"dump", slog.LevelInfo},
	{"engines", slog.LevelInfo},
	{"general", slog.LevelInfo},
	{"flush", slog.LevelInfo},
	{"graphs", slog.LevelInfo},
	{"heartbeat", slog.LevelInfo},
	{"httpclient", slog.LevelWarn},
	{"license", slog.LevelInfo},
	{"maintenance", slog.LevelInfo},
	{"memory", slog.LevelInfo},
	{"queries", slog.LevelInfo},
	{"replication", slog.LevelInfo},
	{"replication2", slog.LevelWarn},
	{"rep-state", slog.LevelWarn},
	{"rep-wal", slog.LevelWarn},
	{"requests", LevelFatal}, // "suppress": only --log.level requests=... shows them
	{"restore", slog.LevelInfo},
	{"rocksdb", slog.LevelWarn},
	{"security", slog.LevelInfo},
	{"ssl", slog.LevelWarn},
	{"startup", slog.LevelInfo},
	{"statistics", slog.LevelInfo},
	{"supervision", slog.LevelInfo},
	{"syscall", slog.LevelInfo},
	{"threads", slog.LevelWarn},
	{"trx", slog.LevelWarn},
	{"ttl", slog.LevelWarn},
	{"validation", slog.LevelInfo},
	{"v8", slog.LevelWarn},
	{"views", LevelFatal},
	{"deprecation", slog.LevelInfo},
	{"arangosearch", slog.LevelInfo},
	{"libiresearch", slog.LevelInfo},
	{"audit-authentication", slog.LevelInfo},
	{"audit-authorization", slog.LevelInfo},
	{"audit-database", slog.LevelInfo},
	{"audit-collection", slog.LevelInfo},
	{"audit-view", slog.LevelInfo},
	{"audit-document", slog.LevelInfo},
	{"audit-service", slog.LevelInfo},
	{"audit-hotbackup", slog.LevelInfo},
}

// topicIndex maps a topic name to its index in topics.
var topicIndex = func() map[string]int {
	m := make(map[string]int, len(topics))
	for i, t := range topics {
		m[t.name] = i
	}
	return m
}()

var generalTopic = topicIndex[TopicGeneral]

// Topics returns the names of all accepted log topics, in ArangoDB's order.
func Topics() []string {
	out := make([]string, len(topics))
	for i, t := range topics {
		out[i] = t.name
	}
	return out
}

// parseLevel reads a level name the way Logger::translateLogLevel does; "" and "default"
// are only allowed for a topic ("requests=default").
func parseLevel(s string, forTopic bool) (slog.Level, bool) {
	switch s {
	case "fatal":
		return LevelFatal, true
	case "error", "err":
		return slog.LevelError, true
	case "warning", "warn":
		return slog.LevelWarn, true
	case "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "trace":
		return LevelTrace, true
	case "", "default":
		if forTopic {
			return levelDefault, true
		}
	}
	return 0, false
}

// levelName is the level as ArangoDB prints it (Logger::translateLogLevel).
func levelName(l slog.Level) string {
	switch {
	case l >= LevelFatal:
		return "FATAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	case l >= slog.LevelDebug:
		return "DEBUG"
	}
	return "TRACE"
}
