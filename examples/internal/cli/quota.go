package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseQuota reads a -quota flag, "N/DURATION" such as "20000/5m": N a
// positive integer in digits, DURATION a positive Go duration. "" is the
// SDK's own quota, returned as 0 requests.
func ParseQuota(s string) (requests int, window time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	n, d, ok := strings.Cut(s, "/")
	requests, nerr := strconv.Atoi(n)
	window, derr := time.ParseDuration(d)
	if !ok || nerr != nil || derr != nil || requests <= 0 || window <= 0 || strings.TrimLeft(n, "0123456789") != "" {
		return 0, 0, fmt.Errorf("-quota must be N/DURATION, N a positive whole number, such as 20000/5m, not %q", s)
	}
	return requests, window, nil
}
