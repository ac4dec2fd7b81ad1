package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

// kills counts the runs killed.
var kills atomic.Int32

// killer sits in front of the sandbox and, at the killAt-th request of a
// run, lets the sandbox act on it (take the payment, present the bill), then
// kills autopay with SIGKILL before the answer is written: the moment after
// the request was written and before the answer arrived.
type killer struct {
	srv    *iimmpacttest.Server
	env    []string // more of the environment, such as DATABASE_URL
	mu     sync.Mutex
	cmd    *exec.Cmd
	n      int
	killAt int
	killed bool
}

func (k *killer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	k.srv.ServeHTTP(rec, r)
	k.mu.Lock()
	k.n++
	kill := k.n == k.killAt
	if kill {
		_ = k.cmd.Process.Kill()
		k.killed = true
		kills.Add(1)
	}
	k.mu.Unlock()
	if kill {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for key, vs := range rec.Header() {
		w.Header()[key] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// run starts autopay and waits for it: its exit code, or -1 when killed.
func (k *killer) run(t *testing.T, bin string, killAt int, args ...string) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	front := httptest.NewServer(k)
	defer front.Close()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "IIMMPACT_API_KEY=" + k.srv.APIKey, "IIMMPACT_HMAC_SECRET=" + k.srv.HMACSecret, "IIMMPACT_BASE_URL=" + front.URL}, k.env...)
	k.mu.Lock()
	k.cmd, k.n, k.killAt, k.killed = cmd, 0, killAt, false
	err := cmd.Start() // under the lock: the handler reads cmd.Process
	k.mu.Unlock()
	require.NoError(t, err)
	err = cmd.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	var exit *exec.ExitError
	switch {
	case k.killed:
		return -1
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// buildAutopay builds the command, for the tests that run it as processes.
func buildAutopay(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "autopay")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// Killed with SIGKILL at every point of a run in turn (after presenting a
// bill, after a payment was taken, while asking about a pending one), twice,
// then run again until it finishes, autopay charges every instruction
// exactly once, and never an invalid or over-limit one.
func TestKilledAnywhereChargesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds autopay and runs it dozens of times")
	}
	bin := buildAutopay(t)
	in := writeFile(t, header+everyRule)
	// scenario runs autopay killed at killAt, then again killed at the same
	// point of its own run, then to the end; it returns the requests of a
	// whole run when killAt is 0.
	scenario := func(t *testing.T, steps, killAt int) int {
		srv := iimmpacttest.NewServer()
		defer srv.Close()
		srv.SetPaymentSteps(steps) // 1: each payment is Accepted first, pending, then asked again
		k := &killer{srv: srv}
		results := filepath.Join(t.TempDir(), "r.jsonl")
		args := []string{"-instructions", in, "-out", results, "-period", "2026-12", "-workers", "2", "-wait", "30s"}
		for run, at := range []int{killAt, killAt, 0, 0, 0} {
			code := k.run(t, bin, at, args...)
			if code == -1 {
				continue
			}
			require.Contains(t, []int{exitOK, exitAgain}, code, "run %d", run)
			if code == exitOK {
				break
			}
		}
		last, _ := states(t, results)
		want := map[string]string{"water": "paid", "over": "over_limit", "paidup": "nothing_due", "tax": "paid", "mobile": "paid", "nobill": "no_bill", "bad": "invalid_account"}
		for id, status := range want {
			assert.Equal(t, status, last[id].Status, "killed at request %d: %s", killAt, id)
		}
		for account, charges := range map[string]int{"1234567890": 1, "8800123456": 1, "0123456789": 1, "220012345678": 0, "0000000000": 0} {
			assert.Equal(t, charges, srv.Charges(account), "killed at request %d: account %s", killAt, account)
		}
		assert.Equal(t, 3, srv.Payments(), "killed at request %d: one refid for each payment", killAt)
		return len(srv.Requests())
	}
	// Paid at once (a paid bill then owes nothing, so a run that forgot it
	// had paid would call it nothing_due), and pending first.
	for _, steps := range []int{0, 1} {
		before := kills.Load()
		whole := scenario(t, steps, 0)
		require.Greater(t, whole, 10)
		t.Logf("payments final after %d asks: a whole run sends %d requests; killing autopay at each", steps, whole)
		for killAt := 1; killAt <= whole; killAt++ {
			scenario(t, steps, killAt)
		}
		assert.GreaterOrEqual(t, kills.Load()-before, int32(whole), "every point was killed at least once")
	}
}
