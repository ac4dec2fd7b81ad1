package cli

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README documents the one exit table once: the same statuses, in the
// same order, as ExitTable.
func TestREADMEHasTheExitTable(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## The tools' exit statuses")
	if i < 0 {
		t.Fatal("the README has no section for the tools' exit statuses")
	}
	section = section[i:]
	rows := regexp.MustCompile(`(?m)^\| (\d) \| (.+) \|$`).FindAllStringSubmatch(section, -1)
	table := regexp.MustCompile(`(?m)^  (\d)  `).FindAllStringSubmatch(ExitTable, -1)
	if len(rows) != len(table) || len(rows) != 6 {
		t.Fatalf("the README lists %d statuses and ExitTable %d; want 6 each", len(rows), len(table))
	}
	for i, want := range []int{ExitOK, ExitFindings, ExitUsage, ExitAgain, ExitBlocked, ExitWallet} {
		if rows[i][1] != fmt.Sprint(want) || table[i][1] != fmt.Sprint(want) {
			t.Errorf("row %d: README %s, ExitTable %s, want %d", i, rows[i][1], table[i][1], want)
		}
	}
	for _, word := range []string{"final state", "error or a difference", "bad flags", "run the same command again", "403", "wallet is short"} {
		if !strings.Contains(section, word) || !strings.Contains(ExitTable, word) {
			t.Errorf("%q is in one of the README's table and ExitTable, not both", word)
		}
	}
}

func TestRinggit(t *testing.T) {
	for sen, want := range map[int64]string{0: "RM 0.00", 5: "RM 0.05", 4594: "RM 45.94", 169975: "RM 1,699.75", 123456789: "RM 1,234,567.89", -1250: "-RM 12.50"} {
		if got := Ringgit(sen); got != want {
			t.Errorf("Ringgit(%d) = %q, want %q", sen, got, want)
		}
	}
}

func TestParseQuotaIsStrict(t *testing.T) {
	for in, want := range map[string]int{"20000/5m": 20000, "100/1s": 100, "": 0} {
		n, _, err := ParseQuota(in)
		if err != nil || n != want {
			t.Errorf("ParseQuota(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, bad := range []string{"1e3/5m", "20000x/5m", "+5/1s", "-5/1s", "0/1s", "5/0s", "5", "5/", "/5m", "5/1", " 5/1s"} {
		if _, _, err := ParseQuota(bad); err == nil {
			t.Errorf("ParseQuota(%q) accepted", bad)
		}
	}
}
