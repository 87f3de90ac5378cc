package cliflag

import (
	"fmt"
	"strings"
)

// Positional checks the arguments left after the options of tool, which takes at most one
// positional argument: a directory (what, e.g. "output directory"), as arangodump and
// arangorestore do, also settable with --dirFlag. A command word (words maps it to what the
// user probably meant), a second argument, or an argument next to --dirFlag is an error;
// otherwise the argument, if any, goes to *dir. use says what the tool does with the
// directory, for the hint ("dump into", "restore from").
func Positional(tool, what, use, dirFlag string, words map[string]string, rest []string, dirFlagSet bool, dir *string) error {
	for _, a := range rest {
		if meant, ok := words[a]; ok {
			return fmt.Errorf("unexpected argument %q: %s has no command %q; did you mean %s? "+
				"(to %s a directory of that name, give --%s %s)", a, tool, a, meant, use, dirFlag, a)
		}
	}
	switch {
	case len(rest) == 0:
	case len(rest) > 1:
		return fmt.Errorf("unexpected arguments: %s (%s takes at most one argument: the %s)", strings.Join(rest, " "), tool, what)
	case dirFlagSet:
		return fmt.Errorf("unexpected argument %q: the %s is already given with --%s", rest[0], what, dirFlag)
	default:
		*dir = rest[0]
	}
	return nil
}
