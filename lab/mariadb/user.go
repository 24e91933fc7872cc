package mariadb

import (
	"os/user"
	"strconv"
)

// lookupUID returns the numeric uid of the named OS user.
func lookupUID(name string) (int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Uid)
}

// lookupGIDOr returns the primary gid of the named OS user, or def when it cannot be found.
func lookupGIDOr(name string, def int) int {
	u, err := user.Lookup(name)
	if err != nil {
		return def
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return def
	}
	return gid
}
