package iimmpact_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/iimmpacttest"
)

func TestPaySucceeds(t *testing.T) {
	h := startHostile(t, always(pass))
	tx, err := h.client(t).Pay(context.Background(), tnbPayment)
	require.NoError(t, err)
	assert.Equal(t, iimmpact.TransactionSucceeded, tx.Status, "the vendor's Succesful")
	assert.True(t, tx.Status.Final())
	assert.Equal(t, 20, tx.Code)
	assert.Equal(t, "order-1001", tx.RefID)
	assert.Equal(t, int64(4594), tx.Amount.Sen())
	assert.Equal(t, int64(4594), tx.Cost.Sen())
	assert.Equal(t, int64(100_000-4594), tx.Balance.Sen())
	assert.NotEmpty(t, tx.SerialNumber)
	assert.False(t, tx.Time.IsZero())
	assert.Equal(t, 1, h.sandbox.Charges(tnbPayment.Account))
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", tx, tx, tx), tnbPayment.Account, "fmt never prints the account")
}

// Every way of losing the answer after the API took the payment is
// ErrOutcomeUnknown, and asking again with the same Payment charges nothing
// more.
func TestPayLostAnswerIsOutcomeUnknown(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault int
		opts  []iimmpact.Option
		ctx   time.Duration
	}{
		{"connection dropped", drop, nil, 0},
		{"503 after the retries", http.StatusServiceUnavailable, nil, 0},
		{"502 without retries", http.StatusBadGateway, []iimmpact.Option{iimmpact.WithMaxRetries(0)}, 0},
		{"stalled past the deadline", stall, nil, 200 * time.Millisecond},
		{"404 from a proxy", http.StatusNotFound, nil, 0},
		{"a 200 that is not JSON", http.StatusOK, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var faulty bool = true
			var mu sync.Mutex
			h := startHostile(t, func(int, []byte) (int, string) {
				mu.Lock()
				defer mu.Unlock()
				if faulty {
					return tt.fault, "<html>bad gateway</html>"
				}
				return pass, ""
			})
			c := h.client(t, tt.opts...)
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			tx, err := c.Pay(ctx, tnbPayment)
			require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
			assert.Nil(t, tx)
			assert.Equal(t, 1, h.sandbox.Charges(tnbPayment.Account), "the sandbox took it")
			var apiErr *iimmpact.APIError
			assert.False(t, errors.As(err, &apiErr), "an unknown outcome is no APIError a checkout could read as refused")
			assert.False(t, errors.Is(err, context.DeadlineExceeded), "nor a deadline")

			mu.Lock()
			faulty = false
			mu.Unlock()
			tx, err = c.Pay(context.Background(), tnbPayment)
			require.NoError(t, err)
			assert.Equal(t, iimmpact.TransactionSucceeded, tx.Status)
			assert.Equal(t, 1, h.sandbox.Charges(tnbPayment.Account), "asking again never pays again")
			assert.Equal(t, 1, h.sandbox.Payments())
		})
	}
}

func TestPayRetriesSendTheSameBodyFreshlySigned(t *testing.T) {
	h := startHostile(t, func(n int, _ []byte) (int, string) {
		if n < 2 {
			return drop, ""
		}
		return pass, ""
	})
	tx, err := h.client(t).Pay(context.Background(), tnbPayment)
	require.NoError(t, err, "the retry with the same refid reads the first attempt's payment")
	assert.Equal(t, iimmpact.TransactionSucceeded, tx.Status)
	reqs := topups(h.sandbox)
	require.Len(t, reqs, 3)
	sigs, nonces := map[string]bool{}, map[string]bool{}
	for _, r := range reqs {
		assert.True(t, r.Authenticated, r.AuthError)
		assert.Equal(t, string(reqs[0].Body), string(r.Body), "byte for byte the same body")
		sigs[r.Header.Get("X-Signature")], nonces[r.Header.Get("X-Nonce")] = true, true
	}
	assert.Len(t, sigs, 3, "a fresh signature each attempt")
	assert.Len(t, nonces, 3)
	assert.JSONEq(t, `{"refid":"order-1001","product":"TNB","account":"220012345678","amount":"45.94"}`, string(reqs[0].Body))
	assert.Equal(t, 1, h.sandbox.Charges(tnbPayment.Account))
}

func TestPayRefusedIsNotChargedAndNotUnknown(t *testing.T) {
	h := startHostile(t, always(pass))
	p := tnbPayment
	p.Account = "60123450043" // the vendor's staging account for insufficient credit
	tx, err := h.client(t).Pay(context.Background(), p)
	require.Error(t, err)
	assert.Nil(t, tx)
	assert.NotErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
	var apiErr *iimmpact.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Equal(t, 43, apiErr.Code, "the vendor's code, an int as on Transaction")
	assert.Contains(t, err.Error(), "(code 43)")
	assert.Contains(t, err.Error(), "Insufficient wallet credit")
	assert.Equal(t, 0, h.sandbox.Charges(p.Account))

	h.sandbox.SetBalance("10.00")
	_, err = h.client(t).Pay(context.Background(), tnbPayment)
	require.ErrorAs(t, err, &apiErr, "a short wallet is a 400 too")
	assert.Equal(t, 43, apiErr.Code)
	assert.Equal(t, "10.00", h.sandbox.Balance())
}

// Once an attempt may have been taken, no later answer proves otherwise.
func TestPayRefusalAfterALostAttemptIsUnknown(t *testing.T) {
	h := startHostile(t, func(n int, _ []byte) (int, string) {
		if n == 0 {
			return http.StatusServiceUnavailable, ""
		}
		return http.StatusBadRequest, `{"data":{"status":"Failed","statusCode":44,"message":"bad format"}}`
	})
	_, err := h.client(t).Pay(context.Background(), tnbPayment)
	require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
}

func TestPayAnswersThatAreNotOurs(t *testing.T) {
	answer := func(data string) func(int, []byte) (int, string) {
		return func(int, []byte) (int, string) { return http.StatusOK, `{"data":{` + data + `}}` }
	}
	ok := `"refid":"order-1001","account":"220012345678","product":"TNB","amount":45.94`
	for _, tt := range []struct {
		name, data string
		want       iimmpact.TransactionStatus // "" for ErrOutcomeUnknown
	}{
		{"Succesful with code 20", `"status":"Succesful","statusCode":20,` + ok, iimmpact.TransactionSucceeded},
		{"Successful corrected", `"status":"Successful","statusCode":20,` + ok, iimmpact.TransactionSucceeded},
		{"no code: the text decides", `"status":"Processing",` + ok, iimmpact.TransactionProcessing},
		{"null code: the text decides", `"status":"Accepted","statusCode":null,` + ok, iimmpact.TransactionAccepted},
		{"a 200 Failed", `"status":"Failed","statusCode":47,` + ok, iimmpact.TransactionFailed},
		{"Refund", `"status":"Refund","statusCode":53,` + ok, iimmpact.TransactionRefunded},
		{"amount by value", `"status":"Succesful","statusCode":20,"refid":"order-1001","amount":"45.940"`, iimmpact.TransactionSucceeded},
		{"an unknown status", `"status":"Done","statusCode":20,` + ok, ""},
		{"text and code disagree", `"status":"Succesful","statusCode":47,` + ok, ""},
		{"Failed with a success code", `"status":"Failed","statusCode":20,` + ok, ""},
		{"another refid", `"status":"Succesful","statusCode":20,"refid":"order-1002"`, ""},
		{"no refid", `"status":"Succesful","statusCode":20`, ""},
		{"another amount", `"status":"Succesful","statusCode":20,"refid":"order-1001","amount":45.95`, ""},
		{"another account", `"status":"Succesful","statusCode":20,"refid":"order-1001","account":"220012345679"`, ""},
		{"a status twice", `"status":"Failed","status":"Succesful","statusCode":20,` + ok, ""},
		{"Succesful with code 43", `"status":"Succesful","statusCode":43,` + ok, ""},
		{"status not a string", `"status":20,"statusCode":20,` + ok, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := startHostile(t, answer(tt.data))
			var logs bytes.Buffer
			obs := &recorder{}
			c := h.client(t, iimmpact.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), iimmpact.WithObserver(obs))
			tx, err := c.Pay(context.Background(), tnbPayment)
			require.Len(t, obs.results, 1)
			if tt.want == "" {
				require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
				assert.Empty(t, obs.results[0].TransactionStatus, "the observer hears no status Pay did not confirm")
				assert.Equal(t, iimmpact.ErrorKindOutcomeUnknown, obs.results[0].ErrorKind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, tx.Status)
			assert.Equal(t, tt.want, obs.results[0].TransactionStatus)
		})
	}
}

func TestPayUnknownStatusWarnsOnce(t *testing.T) {
	h := startHostile(t, func(int, []byte) (int, string) {
		return http.StatusOK, `{"data":{"status":"Settled-XYZ","refid":"order-1001"}}`
	})
	var logs bytes.Buffer
	c := h.client(t, iimmpact.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for range 3 {
		_, err := c.Pay(context.Background(), tnbPayment)
		require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "data.status is not one the SDK knows"), logs.String())
}

func TestPaymentValidation(t *testing.T) {
	jompay := iimmpact.Payment{RefID: "r1", Product: "JOMPAY", Account: "1234", Amount: "10", BillerCode: "5454", ICNumber: "900101145678"}
	for _, tt := range []struct {
		name  string
		edit  func(*iimmpact.Payment)
		field string
		code  iimmpact.PaymentCode
	}{
		{"refid required", func(p *iimmpact.Payment) { p.RefID = "" }, "refid", iimmpact.PaymentRequired},
		{"refid with a space is refused, not trimmed", func(p *iimmpact.Payment) { p.RefID = " r1" }, "refid", iimmpact.PaymentBadRefID},
		{"refid with a dot", func(p *iimmpact.Payment) { p.RefID = "r.1" }, "refid", iimmpact.PaymentBadRefID},
		{"refid not ASCII", func(p *iimmpact.Payment) { p.RefID = "rе1" }, "refid", iimmpact.PaymentBadRefID},
		{"refid too long", func(p *iimmpact.Payment) { p.RefID = strings.Repeat("a", 37) }, "refid", iimmpact.PaymentBadRefID},
		{"amount zero", func(p *iimmpact.Payment) { p.Amount = "0.00" }, "amount", iimmpact.PaymentBadAmount},
		{"amount three decimals", func(p *iimmpact.Payment) { p.Amount = "1.005" }, "amount", iimmpact.PaymentBadAmount},
		{"amount negative", func(p *iimmpact.Payment) { p.Amount = "-1" }, "amount", iimmpact.PaymentBadAmount},
		{"amount huge", func(p *iimmpact.Payment) { p.Amount = strings.Repeat("9", 30) }, "amount", iimmpact.PaymentAmountTooLarge},
		{"JomPAY needs a biller code", func(p *iimmpact.Payment) { p.BillerCode = "" }, "biller_code", iimmpact.PaymentNeededFor},
		{"JomPAY needs an IC", func(p *iimmpact.Payment) { p.ICNumber = "" }, "ic_number", iimmpact.PaymentNeededFor},
		{"an IC with dashes", func(p *iimmpact.Payment) { p.ICNumber = "900101-14-5678" }, "ic_number", iimmpact.PaymentBadICNumber},
		{"no subproduct for JomPAY", func(p *iimmpact.Payment) { p.SubproductCode = "X" }, "subproduct_code", iimmpact.PaymentNotForProduct},
		{"a control character", func(p *iimmpact.Payment) { p.Account = "12\x0034" }, "account", iimmpact.PaymentBadCharacter},
		{"a biller code for TNB", func(p *iimmpact.Payment) { p.Product = "TNB"; p.ICNumber = "" }, "biller_code", iimmpact.PaymentNotForProduct},
		{"an IC for TNB", func(p *iimmpact.Payment) { p.Product = "TNB"; p.BillerCode = "" }, "ic_number", iimmpact.PaymentNotForProduct},
		{"PTPTN needs a subproduct", func(p *iimmpact.Payment) { p.Product = "PTPTN"; p.BillerCode = "" }, "subproduct_code", iimmpact.PaymentNeededFor},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := jompay
			tt.edit(&p)
			err := p.Validate()
			require.ErrorIs(t, err, iimmpact.ErrInvalidPayment)
			var pe *iimmpact.PaymentError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field)
			assert.Equal(t, tt.code, pe.Code)
		})
	}
	require.NoError(t, jompay.Validate())
	ptptn := iimmpact.Payment{RefID: "r2", Product: "ptptn", Account: "1", Amount: "1", ICNumber: "A1234567", SubproductCode: "S1"}
	require.NoError(t, ptptn.Validate())

	srv := iimmpacttest.NewHandler()
	bad := jompay
	bad.RefID = "has space"
	_, err := srv.Client.Pay(context.Background(), bad)
	require.ErrorIs(t, err, iimmpact.ErrInvalidPayment)
	assert.NotErrorIs(t, err, iimmpact.ErrOutcomeUnknown, "nothing was sent")
	assert.Empty(t, srv.Requests())
}

// The IC number and the account never reach an error, a log, an observer or
// fmt, even when the server echoes them back.
func TestPaymentPersonalDataNeverLeaks(t *testing.T) {
	p := iimmpact.Payment{RefID: "r-77", Product: "JOMPAY", Account: "778899001122", Amount: "12.30", BillerCode: "5454", ICNumber: "880808085555", Ref2: "REFTWO9"}
	echo := `{"message":"bad ic 880808085555 for 778899001122 (REFTWO9) %38%38%30%38%30%38%30%38%35%35%35%35"}`
	for _, status := range []int{400, 503, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := startHostile(t, func(int, []byte) (int, string) { return status, echo })
			var logs bytes.Buffer
			rec := &recorder{}
			c := h.client(t, iimmpact.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
				iimmpact.WithObserver(rec))
			_, err := c.Pay(context.Background(), p)
			require.Error(t, err)
			out := err.Error() + logs.String() + fmt.Sprintf("%v %+v %#v", p, p, p) + rec.dump()
			for _, secret := range []string{p.ICNumber, p.Account, p.Ref2, "%38%38%30"} {
				assert.NotContains(t, out, secret)
			}
		})
	}
}

func TestPayObserverSeesAPayment(t *testing.T) {
	h := startHostile(t, always(pass))
	rec := &recorder{}
	_, err := h.client(t, iimmpact.WithObserver(rec)).Pay(context.Background(), tnbPayment)
	require.NoError(t, err)
	require.Len(t, rec.calls, 1)
	assert.Equal(t, "payment", rec.calls[0].Operation)
	assert.Equal(t, iimmpact.TransactionSucceeded, rec.results[0].TransactionStatus)
	require.Len(t, rec.requests, 1)
	assert.Equal(t, http.MethodPost, rec.requests[0].Method)
}

func TestBalance(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	srv.SetBalance("250.75")
	b, err := srv.Client.Balance(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(25075), b.Amount.Sen())
	assert.True(t, b.CanPay)
	assert.NotEmpty(t, b.Name)

	_, err = srv.Client.Pay(context.Background(), tnbPayment)
	require.NoError(t, err)
	b, err = srv.Client.Balance(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(25075-4594), b.Amount.Sen(), "the wallet goes down by the cost")
}

func TestSandboxPaymentSteps(t *testing.T) {
	srv := iimmpacttest.NewHandler()
	srv.SetPaymentSteps(2)
	var got []iimmpact.TransactionStatus
	for range 4 {
		tx, err := srv.Client.Pay(context.Background(), tnbPayment)
		require.NoError(t, err)
		got = append(got, tx.Status)
	}
	assert.Equal(t, []iimmpact.TransactionStatus{iimmpact.TransactionAccepted, iimmpact.TransactionProcessing,
		iimmpact.TransactionSucceeded, iimmpact.TransactionSucceeded}, got)
	assert.Equal(t, 1, srv.Charges(tnbPayment.Account))

	other := tnbPayment
	other.Amount = "99.00" // the same refid with another payment
	_, err := srv.Client.Pay(context.Background(), other)
	require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown, "an answer about another payment is not ours")
	assert.Equal(t, 1, srv.Payments())

	failing := iimmpact.Payment{RefID: "f-1", Product: "TNB", Account: "60123450047", Amount: "5"}
	tx, err := srv.Client.Pay(context.Background(), failing)
	require.NoError(t, err)
	assert.Equal(t, iimmpact.TransactionAccepted, tx.Status)
	for !tx.Status.Final() {
		tx, err = srv.Client.Pay(context.Background(), failing)
		require.NoError(t, err)
	}
	assert.Equal(t, iimmpact.TransactionFailed, tx.Status)
	assert.Equal(t, 47, tx.Code)
	assert.Equal(t, 0, srv.Charges(failing.Account), "a failed payment gives the money back")
}

// dump is everything the recorder was told, as text, errors included.
func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("%+v %+v %+v %+v", r.calls, r.requests, r.answers, r.results)
	for _, res := range r.results {
		if res.Err != nil {
			s += res.Err.Error()
		}
	}
	return s
}

// An unknown status text that echoes the payer is cut before redaction; the
// cut never leaves part of the IC number or the account in the error or in
// what the observer hears.
func TestPayUnknownStatusNeverShowsPartOfThePayer(t *testing.T) {
	const ic = "900101145678"
	p := iimmpact.Payment{RefID: "order-1001", Product: "JOMPAY", Account: "8800123456", Amount: "45.94", BillerCode: "5454", ICNumber: ic}
	for _, echo := range []string{ic, p.Account} {
		for pad := 40; pad < 60; pad++ {
			text := strings.Repeat("x", pad-1) + " " + echo + " is not settled"
			h := startHostile(t, func(int, []byte) (int, string) {
				return http.StatusOK, `{"data":{"status":"` + text + `","refid":"order-1001"}}`
			})
			obs := &recorder{}
			_, err := h.client(t, iimmpact.WithObserver(obs)).Pay(context.Background(), p)
			require.ErrorIs(t, err, iimmpact.ErrOutcomeUnknown)
			require.Len(t, obs.results, 1)
			for _, shown := range []string{err.Error(), obs.results[0].Err.Error()} {
				for i := 0; i+6 <= len(echo); i++ {
					require.NotContains(t, shown, echo[i:i+6], "pad %d: no six characters of the payer's %s", pad, echo)
				}
			}
		}
	}
}

// A Payment, a Transaction and a Callback print no account, IC number or
// raw body with any fmt verb, by value or by pointer.
func TestNoVerbPrintsPersonalData(t *testing.T) {
	p := iimmpact.Payment{RefID: "order-1001", Product: "JOMPAY", Account: "8800123456", Amount: "45.94", BillerCode: "5454", ICNumber: "900101145678"}
	h := startHostile(t, always(pass))
	tx, err := h.client(t).Pay(context.Background(), tnbPayment)
	require.NoError(t, err)
	_, cb := serveCallback(t, post("18.140.170.98:41000", callbackBody))
	require.NotNil(t, cb)
	for _, v := range []any{p, &p, *tx, tx, *cb, cb} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{"8800123456", "900101145678", "220012345678", hex.EncodeToString([]byte("220012345678"))} {
				assert.NotContains(t, strings.ToLower(out), strings.ToLower(secret), "%T with %s", v, verb)
			}
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "v", v)
		assert.NotContains(t, logs.String(), "220012345678", "%T through slog", v)
		assert.NotContains(t, logs.String(), "8800123456", "%T through slog", v)
	}
}

// "RM 45.94" (Amount.Ringgit) is refused with a rule that says what to give.
func TestPaymentAmountInRinggitSaysWhatToGive(t *testing.T) {
	a, err := iimmpact.ParseAmount("45.94")
	require.NoError(t, err)
	p := tnbPayment
	p.Amount = a.Ringgit()
	err = p.Validate()
	var pe *iimmpact.PaymentError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "amount", pe.Field)
	assert.Contains(t, pe.Rule, "Amount.String()")
	p.Amount = a.String()
	assert.NoError(t, p.Validate())
}
