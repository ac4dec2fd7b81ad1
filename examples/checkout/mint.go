package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iimmpact-go/iimmpact"
)

// minter signs what the checkout hands a shopper, with a key of its own
// (CHECKOUT_SECRET, the same on every pod), so that it takes back only what
// it minted: a refid, and a pay form's grant. A MAC rather than a
// server-side record: any pod checks any pod's forms without asking the
// others, and a shopper can neither pay under a refid the checkout did not
// mint (autopay's, another shopper's) nor pay another account or more than
// the bill it was shown.
type minter struct {
	key []byte
	now func() time.Time
}

var base32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// tag is the MAC of parts, in lower-case Base32.
func (m minter) tag(parts ...string) string {
	mac := hmac.New(sha256.New, m.key)
	for _, p := range parts {
		mac.Write([]byte(p))
		mac.Write([]byte{0})
	}
	return base32Lower.EncodeToString(mac.Sum(nil))
}

// refID mints a checkout's refid: "co-", 16 random characters and 16 of
// their MAC, 35 in all (the SDK takes 36).
func (m minter) refID() string {
	var nonce [10]byte
	_, _ = rand.Read(nonce[:]) // never fails; see crypto/rand.Read
	n := base32Lower.EncodeToString(nonce[:])
	return "co-" + n + m.tag("refid", n)[:16]
}

// minted reports a refid this checkout (one with its key) minted.
func (m minter) minted(refid string) bool {
	rest, ok := strings.CutPrefix(refid, "co-")
	if !ok || len(rest) != 32 {
		return false
	}
	return hmac.Equal([]byte(rest[16:]), []byte(m.tag("refid", rest[:16])[:16]))
}

// formLife is how long a pay form may be used: past it the bill is asked for
// again, as it may have changed.
const formLife = time.Hour

// grant is what a pay form allows: paying the bill of query, up to max, under
// refid, until expires.
type grant struct {
	refid   string
	query   iimmpact.Query // product, account, biller code and Ref-2, as the form carries them
	max     iimmpact.Amount
	expires int64 // Unix seconds
}

// token is the grant's MAC, carried in the form beside it.
func (m minter) token(g grant) string {
	q := g.query
	return m.tag("pay", g.refid, strings.TrimSpace(q.Product), strings.TrimSpace(q.Account), strings.TrimSpace(q.BillerCode),
		strings.TrimSpace(q.Ref2), g.max.String(), strconv.FormatInt(g.expires, 10))
}

// grantFor is a fresh grant for refid and query, up to max.
func (m minter) grantFor(refid string, q iimmpact.Query, max iimmpact.Amount) grant {
	return grant{refid: refid, query: q, max: max, expires: m.now().Add(formLife).Unix()}
}

// Why a pay form is refused before anything is sent.
var (
	errNotMinted = errors.New("the pay form was not made by this checkout, or was changed")
	errExpired   = errors.New("the pay form has expired")
)

// grantOf reads and checks the grant a pay form carries for query.
func (m minter) grantOf(r *http.Request, q iimmpact.Query) (grant, error) {
	max, err := iimmpact.ParseAmount(r.PostFormValue("max"))
	expires, eerr := strconv.ParseInt(r.PostFormValue("expires"), 10, 64)
	g := grant{refid: r.PostFormValue("refid"), query: q, max: max, expires: expires}
	switch {
	case err != nil || eerr != nil || !m.minted(g.refid):
		return g, errNotMinted
	case !hmac.Equal([]byte(r.PostFormValue("token")), []byte(m.token(g))):
		return g, errNotMinted
	case m.now().Unix() > g.expires:
		return g, errExpired
	}
	return g, nil
}

// payForm is the pay form of a grant, with the amount to show.
func (m minter) payForm(g grant, amount string) payForm {
	return payForm{RefID: g.refid, Amount: amount, Max: g.max.String(), Expires: strconv.FormatInt(g.expires, 10), Token: m.token(g)}
}
