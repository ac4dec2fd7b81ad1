package iimmpact

import (
	"context"
	"fmt"
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
	cl := c.getCall(opNetworkStatus, networkStatusPath, product, []param{{"product", product}})
	switch {
	case product == "":
		cl.invalid = &QueryError{Field: "product", Code: QueryRequired, Rule: "is required"}
	case badCharacter(product):
		cl.invalid = &QueryError{Field: "product", Code: QueryBadCharacter, Rule: "must not contain control or invisible characters"}
	}
	r := do(ctx, c, cl, checkNetworkStatus)
	return r.value, r.err
}

// checkNetworkStatus says what one network status answer means: an outcome
// (a 200 with the documented envelope), malformed (a 200 with anything
// else), or not an outcome.
func checkNetworkStatus(res *response) (*NetworkStatus, verdict, error) {
	if res.status != 200 {
		return nil, notOutcome, nil
	}
	s, err := decodeNetworkStatus(res.body)
	if err != nil {
		return nil, malformed, err
	}
	s.RequestID = res.requestID
	return s, outcome, nil
}

// report names a status the SDK does not know, for the drift alarm.
func (s *NetworkStatus) report() report {
	if s == nil || strings.EqualFold(normalMessage(s.Status), statusHealthy) || s.Interrupted() {
		return report{}
	}
	return report{driftField: "network_status", driftText: s.Status}
}

// decodeNetworkStatus reads the envelope with exact keys, as bills are read
// (both metadata spellings, "metadata" first): data.network_status must be a
// string; a documented key sent twice, or bytes after the envelope, make it
// malformed.
func decodeNetworkStatus(body []byte) (*NetworkStatus, error) {
	s := &NetworkStatus{raw: body}
	var k keys
	var derr error
	env, err := readEnvelope(body, &k, func(val []byte) {
		if e := eachMember(val, func(key, val []byte) error { return s.data(&k, string(key), val) }); e != nil && derr == nil {
			derr = e
		}
	}, nil)
	if err == nil && env.metadata != nil {
		_ = eachMember(env.metadata, func(key, val []byte) error {
			if string(key) == "last_updated" && k.once(env.metadataName+".last_updated") {
				s.LastUpdated = Timestamp{readTime(val, timestampLayout)}
			}
			return nil
		})
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	case derr != nil:
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, derr)
	case len(k.dups) > 0:
		return nil, fmt.Errorf("%w: %s is sent twice", ErrMalformedResponse, k.duplicate())
	case env.trailing:
		return nil, fmt.Errorf("%w: bytes after the envelope", ErrMalformedResponse)
	case !k.met("data.network_status"):
		return nil, fmt.Errorf("%w: data.network_status is missing or not a string", ErrMalformedResponse)
	}
	return s, nil
}

func (s *NetworkStatus) data(k *keys, key string, val []byte) error {
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
	k.once(name)
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
