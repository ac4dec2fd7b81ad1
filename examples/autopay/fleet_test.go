package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact/iimmpacttest"
	"github.com/iimmpact-go/iimmpact/ledger/ledgertest"
)

// Three autopay processes started at once on the same instructions and
// period, on one PostgreSQL, each killed with SIGKILL at random requests
// (after the sandbox acted on the request, before its answer arrived) and
// started again until it exits 0: every payable instruction is charged
// exactly once (the sandbox's own count), never the invalid or over-limit
// ones, and the ledger shows every instruction's final state.
func TestThreeProcessesKilledAtRandomChargeExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds autopay and runs it as processes")
	}
	url := os.Getenv("IIMMPACT_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI sets IIMMPACT_TEST_POSTGRES: the fleet is tested on a real PostgreSQL")
		}
		t.Skip("IIMMPACT_TEST_POSTGRES is not set: no PostgreSQL to share")
	}
	db := ledgertest.Postgres(t, url)
	bin := buildAutopay(t)
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	srv.SetPaymentSteps(1) // each payment pending once: asks cross the kills too

	var csv strings.Builder
	csv.WriteString(header + "bad,AKSB,0000000000,,,,100.00,\nover,TNB,220012345678,,,,100.00,\n")
	var payable []string
	for i := range 24 {
		account := fmt.Sprintf("01234560%02d", 10+i)
		payable = append(payable, account)
		fmt.Fprintf(&csv, "m%02d,DIGI,%s,,,,50.00,5.00\n", i, account)
	}
	in := writeFile(t, csv.String())
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var mu sync.Mutex
	killAt := func(round int) int {
		if round >= 3 {
			return 0 // then run to the end
		}
		mu.Lock()
		defer mu.Unlock()
		return 1 + rng.IntN(12)
	}

	var wg sync.WaitGroup
	codes := make([][]int, 3)
	for p := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := &killer{srv: srv, env: []string{"DATABASE_URL=" + db}}
			out := filepath.Join(t.TempDir(), fmt.Sprintf("p%d.jsonl", p))
			for round := range 12 {
				code := k.run(t, bin, killAt(round), "-instructions", in, "-out", out, "-period", "2026-12", "-workers", "2", "-lease", "3s", "-wait", "0")
				codes[p] = append(codes[p], code)
				if code == exitOK {
					return
				}
				if !assert.Contains(t, []int{-1, exitAgain}, code, "process %d, round %d", p, round) {
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("exit codes by process (-1: killed): %v", codes)
	for p, c := range codes {
		require.NotEmpty(t, c)
		assert.Equal(t, exitOK, c[len(c)-1], "process %d ends with the period done", p)
	}

	last := ledgerStates(t, db, "2026-12")
	assert.Equal(t, statusInvalidAccount, last["bad"].Status)
	assert.Equal(t, statusOverLimit, last["over"].Status)
	for i, account := range payable {
		id := fmt.Sprintf("m%02d", i)
		assert.Equal(t, statusPaid, last[id].Status, id)
		assert.Equal(t, 1, srv.Charges(account), "%s charged once", id)
	}
	assert.Zero(t, srv.Charges("0000000000"))
	assert.Zero(t, srv.Charges("220012345678"))
	assert.Equal(t, len(payable), srv.Payments(), "one refid a payment")
}

// A short wallet seen by one process stops the others of the period from
// paying, even after a top-up, and each exits 5; a process started after
// the stop pays on.
func TestAStopInOneProcessStopsTheOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds autopay and runs it as processes")
	}
	useLedger(t)
	bin := buildAutopay(t)
	srv := iimmpacttest.NewServer()
	defer srv.Close()
	srv.SetBalance("7.00")
	var csv strings.Builder
	csv.WriteString(header)
	for i := range 8 {
		fmt.Fprintf(&csv, "w%d,DIGI,01234571%02d,,,,50.00,5.00\n", i, i)
	}
	in := writeFile(t, csv.String())
	dir := t.TempDir()
	db := ledgerURL("", filepath.Join(dir, "a.jsonl"))
	if u := os.Getenv("DATABASE_URL"); u != "" {
		db = u
	}

	// B claims the first four instructions, then waits at its first request
	// until A is done.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived); <-release })
		srv.ServeHTTP(w, r)
	}))
	defer front.Close()
	env := func(base string) []string {
		return []string{"PATH=" + os.Getenv("PATH"), "IIMMPACT_API_KEY=" + srv.APIKey, "IIMMPACT_HMAC_SECRET=" + srv.HMACSecret,
			"IIMMPACT_BASE_URL=" + base, "DATABASE_URL=" + db}
	}
	args := func(out string) []string {
		return []string{"-instructions", in, "-out", filepath.Join(dir, out), "-period", "2026-12", "-workers", "1", "-lease", "3s", "-wait", "0"}
	}
	b := exec.Command(bin, args("b.jsonl")...)
	b.Env = env(front.URL)
	var bErr bytes.Buffer
	b.Stderr = &bErr
	require.NoError(t, b.Start())
	<-arrived

	a := exec.Command(bin, args("a.jsonl")...)
	a.Env = env(srv.URL)
	aOut, err := a.CombinedOutput()
	assert.Equal(t, exitWallet, exitCode(err), "%s", aOut)
	assert.Equal(t, 1, srv.Payments(), "A paid what the wallet covered")

	srv.SetBalance("100.00") // the top-up comes while B still runs
	close(release)
	assert.Equal(t, exitWallet, exitCode(b.Wait()), bErr.String())
	assert.Contains(t, bErr.String(), "another process of the period stopped it: wallet")
	assert.Equal(t, 1, srv.Payments(), "B, started before the stop, paid nothing")

	c := exec.Command(bin, args("c.jsonl")...)
	c.Env = env(srv.URL)
	cOut, err := c.CombinedOutput()
	assert.Equal(t, exitOK, exitCode(err), "%s", cOut)
	for i := range 8 {
		assert.Equal(t, 1, srv.Charges(fmt.Sprintf("01234571%02d", i)))
	}
}

// exitCode is a finished command's exit status.
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// BenchmarkThreeProcessesOnPostgres runs three autopay processes at once on
// one PostgreSQL over 600 instructions, each with -workers 32 and -quota
// 100/1s, against a sandbox 50 ms away, and reports the time as a multiple
// of what their three quotas allow together (the 1,200 bills and payments,
// and each chunk's wallet read, at 300 a second): the ledger, its claims and
// its intents, must not be what sets the pace.
//
//	IIMMPACT_TEST_POSTGRES=postgres://… go test -run '^$' -bench ThreeProcesses -benchtime 1x ./autopay   (in examples/)
func BenchmarkThreeProcessesOnPostgres(b *testing.B) {
	pg := os.Getenv("IIMMPACT_TEST_POSTGRES")
	if pg == "" {
		b.Skip("IIMMPACT_TEST_POSTGRES is not set")
	}
	const n, latency = 600, 50 * time.Millisecond
	bin := buildAutopay(b)
	for range b.N {
		db := ledgertest.Postgres(b, pg)
		srv, front, in := benchRun(b, n, latency)
		dir := filepath.Dir(in)
		env := []string{"PATH=" + os.Getenv("PATH"), "IIMMPACT_API_KEY=" + srv.APIKey, "IIMMPACT_HMAC_SECRET=" + srv.HMACSecret,
			"IIMMPACT_BASE_URL=" + front.URL, "DATABASE_URL=" + db}
		var wg sync.WaitGroup
		codes := make([]int, 3)
		logs := make([]bytes.Buffer, 3)
		start := time.Now()
		for p := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(bin, "-instructions", in, "-out", filepath.Join(dir, fmt.Sprintf("p%d.jsonl", p)), "-period", "2026-12",
					"-workers", "32", "-quota", "100/1s", "-wait", "0")
				cmd.Env, cmd.Stderr = env, &logs[p]
				codes[p] = exitCode(cmd.Run())
				fmt.Fprintf(&logs[p], "ended after %s\n", time.Since(start).Round(time.Millisecond))
			}()
		}
		wg.Wait()
		took := time.Since(start)
		front.Close()
		requests := len(srv.Requests())
		if srv.Payments() != n || codes[0]+codes[1]+codes[2] != 0 {
			b.Fatalf("exit codes %v, %d payments of %d:\n%s\n%s\n%s", codes, srv.Payments(), n, logs[0].String(), logs[1].String(), logs[2].String())
		}
		quotaAllows := time.Duration(float64(requests-1)/300*float64(time.Second)) + latency
		for p := range logs {
			b.Logf("process %d:\n%s", p, logs[p].String())
		}
		b.ReportMetric(took.Seconds(), "s/run")
		b.ReportMetric(float64(requests), "requests")
		b.ReportMetric(took.Seconds()/quotaAllows.Seconds(), "x-quota-time")
	}
}
