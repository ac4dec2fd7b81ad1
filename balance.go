package iimmpact

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

const balancePath = "/v2/balance"

// Balance is the merchant's IIMMPACT wallet (GET /v2/balance). It includes
// pending payments. A payment run checks it before it starts.
type Balance struct {
	// Amount is data.balance: what the wallet can still pay.
	Amount Amount
	// CanPay reports whether the API key may make payments (data.access 0);
	// a read-only key (50) may not.
	CanPay bool
	// Name and Account name the merchant's wallet.
	Name, Account string
	// RequestID is the API's identifier of the answer.
	RequestID string

	raw []byte
}

// Raw returns the response body as received. The caller must not modify it.
func (b *Balance) Raw() []byte {
	if b == nil {
		return nil
	}
	return b.raw
}

func (b *Balance) report() report { return report{} }

// Balance asks for the wallet's balance. It goes through the same signer,
// retries, quota, breaker and observer as every call.
func (c *Client) Balance(ctx context.Context) (*Balance, error) {
	r := do(ctx, c, c.getCall(opBalance, balancePath, "", nil), checkBalance)
	return r.value, r.err
}

// checkBalance reads a 200's envelope: data.balance a number or a numeric
// string, data.access a number; anything else is malformed.
func checkBalance(res *response) (*Balance, verdict, error) {
	if res.status != 200 {
		return nil, notOutcome, nil
	}
	b := &Balance{raw: res.body, RequestID: res.requestID}
	var k keys
	access := -1
	err := readData(res.body, &k, func(val []byte) error {
		return eachMember(val, func(key, val []byte) error { return b.member(&k, &access, string(key), val) })
	}, nil)
	if err == nil && b.Amount.State() != Returned {
		err = errors.New("data.balance is missing or not an amount")
	}
	if err != nil {
		return nil, malformed, malformedError(err)
	}
	b.CanPay = access == 0
	return b, outcome, nil
}

// member reads one member of data.
func (b *Balance) member(k *keys, access *int, key string, val []byte) error {
	switch key {
	case "balance":
		b.Amount = readAmount(val)
	case "access":
		n, err := strconv.Atoi(strings.Trim(string(val), `"`))
		if err != nil {
			return errors.New("data.access is not a number")
		}
		*access = n
	case "name":
		b.Name = forPeople(scalarText(val))
	case "account":
		b.Account = scalarText(val)
	default:
		return nil
	}
	k.once("data." + key)
	return nil
}
