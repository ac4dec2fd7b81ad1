package iimmpact

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

const networkStatusPath = "/v2/networkstatus"

// The network_status values the vendor documents.
const (
	statusHealthy      = "Healthy"
	statusInterruption = "Interruption"
)

// NetworkStatus is a product's network status: whether the biller behind it
// is having trouble right now. The vendor's integration guide asks for it
// before bill presentment, to warn the customer that a payment might be slow
// or might not go through. It never blocks a payment.
type NetworkStatus struct {
	ProductCode string // as sent, such as "TNB"
	ProductName string // safe to show, such as "Tenaga Nasional Berhad"
	// ProductImage is the biller's logo: an absolute http or https URL, or ""
	// when the API sent none or something else.
	ProductImage string
	// Status is network_status as sent: "Healthy", "Interruption", or a text
	// the vendor may add (kept, and not an interruption).
	Status string
	// LastUpdated is metadata.last_updated, in GMT+8.
	LastUpdated Timestamp
	// RequestID is the API's identifier of the answer.
	RequestID string

	raw []byte
}

// Interrupted reports whether the vendor says the product is interrupted. It
// is false for a nil NetworkStatus, so an error never warns the customer.
func (s *NetworkStatus) Interrupted() bool {
	return s != nil && strings.EqualFold(normalMessage(s.Status), statusInterruption)
}

// Raw returns the response body as received. The caller must not modify it.
func (s *NetworkStatus) Raw() []byte {
	if s == nil {
		return nil
	}
	return s.raw
}

// NetworkStatus asks whether product's biller is having trouble. It goes
// through the same signer, retries, quota, breaker and redaction as
// BillPresentment, and counts towards the IP quota like any request. A
// status the SDK does not know is kept in Status, is not an interruption, and
// logs one Warn per text per process.
//
// It never blocks a payment: on Interrupted, show a warning and let the
// customer go on; on an error, show nothing.
func (c *Client) NetworkStatus(ctx context.Context, product string) (*NetworkStatus, error) {
	product = trimEdges(product)
	cl := &call{op: opNetworkStatus, path: networkStatusPath, product: product, quotaWait: c.quotaWait}
	switch {
	case product == "":
		return nil, c.refuse(ctx, cl, &QueryError{Field: "product", Code: QueryRequired, Rule: "is required"})
	case badCharacter(product):
		return nil, c.refuse(ctx, cl, &QueryError{Field: "product", Code: QueryBadCharacter, Rule: "must not contain control or invisible characters"})
	}
	cl.setQuery(url.Values{"product": {product}})
	var status *NetworkStatus
	cl.check = func(res *response) (verdict, error) {
		s, v, err := checkNetworkStatus(res.status, res.body)
		status = s
		return v, err
	}
	res, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	status.RequestID = c.answerID(cl, res)
	if !strings.EqualFold(normalMessage(status.Status), statusHealthy) && !status.Interrupted() {
		c.unrecognised(ctx, cl, "network_status", status.Status)
	}
	return status, nil
}

// checkNetworkStatus says what one network status answer means: an outcome
// (a 200 with the documented envelope), malformed (a 200 with anything
// else), or not an outcome.
func checkNetworkStatus(status int, body []byte) (*NetworkStatus, verdict, error) {
	if status != 200 {
		return nil, notOutcome, nil
	}
	s, err := decodeNetworkStatus(body)
	if err != nil {
		return nil, malformed, err
	}
	return s, outcome, nil
}

// decodeNetworkStatus reads the envelope with exact keys, as bills are read:
// data.network_status must be a string; a documented key sent twice, or
// bytes after the envelope, make it malformed.
func decodeNetworkStatus(body []byte) (*NetworkStatus, error) {
	s := &NetworkStatus{raw: body}
	env := trimFraming(body)
	seen := map[string]bool{}
	once := func(name string) error {
		if seen[name] {
			return fmt.Errorf("%s is sent twice", name)
		}
		seen[name] = true
		return nil
	}
	end, err := eachMemberOf(env, func(key, val []byte) error {
		switch name := string(key); name {
		case "data":
			if err := once(name); err != nil {
				return err
			}
			return eachMember(val, func(key, val []byte) error { return s.data(string(key), val, once) })
		case "metadata", "@metadata":
			if err := once("metadata"); err != nil {
				return err
			}
			return eachMember(val, func(key, val []byte) error {
				if string(key) == "last_updated" {
					s.LastUpdated = Timestamp{readTime(val, timestampLayout)}
				}
				return nil
			})
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	case end < len(env):
		return nil, fmt.Errorf("%w: bytes after the envelope", ErrMalformedResponse)
	case !seen["data.network_status"]:
		return nil, fmt.Errorf("%w: data.network_status is missing or not a string", ErrMalformedResponse)
	}
	return s, nil
}

func (s *NetworkStatus) data(key string, val []byte, once func(string) error) error {
	name := "data." + key
	var dst *string
	switch key {
	case "product_code":
		dst = &s.ProductCode
	case "product_name":
		dst = &s.ProductName
	case "product_img":
		dst = &s.ProductImage
	case "network_status":
		dst = &s.Status
	default:
		return nil
	}
	if err := once(name); err != nil {
		return err
	}
	t := readText(val)
	if key == "product_img" {
		t = readLink(val)
	}
	if t.state != Returned || val[0] != '"' {
		if key == "network_status" {
			return fmt.Errorf("%s is not a string", name)
		}
		return nil
	}
	*dst = t.text
	if key == "product_name" {
		*dst = forPeople(t.text)
	}
	return nil
}
