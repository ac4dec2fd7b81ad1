// Package ledgertest makes empty ledger databases for tests: an SQLite file
// always, and a database of the test's own on a PostgreSQL server when
// IIMMPACT_TEST_POSTGRES names one (postgres://user@host:port/db). Under
// CI=true the server is required, so a CI that forgot to start it fails
// instead of passing on SQLite alone.
package ledgertest

import (
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Backends returns, by name ("sqlite", "postgres"), a function that makes an
// empty database for a test and returns its URL for ledger.Open.
func Backends(t testing.TB) map[string]func(t testing.TB) string {
	out := map[string]func(t testing.TB) string{"sqlite": SQLite}
	url := os.Getenv("IIMMPACT_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI sets IIMMPACT_TEST_POSTGRES: the ledger is tested on a real PostgreSQL")
		}
		return out
	}
	out["postgres"] = func(t testing.TB) string { return Postgres(t, url) }
	return out
}

// SQLite returns the URL of a new SQLite file in t's temporary directory.
func SQLite(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
}

// Postgres makes a database named for t on the server of url, dropping one
// left by an earlier run, and returns its URL.
func Postgres(t testing.TB, url string) string {
	t.Helper()
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "t_" + strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	_, _ = admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	return WithDatabase(url, name)
}

// WithDatabase is url with its database name replaced by name.
func WithDatabase(url, name string) string {
	rest, query, _ := strings.Cut(url, "?")
	out := rest[:strings.LastIndex(rest, "/")+1] + name
	if query != "" {
		out += "?" + query
	}
	return out
}

// Down returns the URL of a PostgreSQL that does not answer: a loopback
// port taken and closed again, so a connection is refused at once. Its
// password is "hunter2", for tests that no error shows it.
func Down(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "postgres://ledgertest:hunter2@" + ln.Addr().String() + "/payments?connect_timeout=5"
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return url
}
