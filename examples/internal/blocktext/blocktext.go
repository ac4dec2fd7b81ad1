// Package blocktext words the vendor's documented block texts (the
// error_message of an invalid account) in Bahasa Malaysia, for the examples.
package blocktext

import "strings"

// Malay holds the four texts the vendor documents, keyed by Key.
var Malay = map[string]string{
	"the provided biller code is invalid": "Kod Biller tidak sah.",
	"the provided amount is invalid":      "Jumlah tidak sah.",
	"invalid account no":                  "Nombor akaun tidak sah.",
	"ref-2 is required":                   "Ref-2 diperlukan.",
}

// Key is message as the map is keyed: lower case, white space folded, a
// final full stop or exclamation mark dropped.
func Key(message string) string {
	return strings.ToLower(strings.TrimRight(strings.Join(strings.Fields(message), " "), ".!"))
}

// InMalay returns message in Bahasa Malaysia when it is one of the vendor's
// documented texts, and message as it is otherwise.
func InMalay(message string) string {
	if text, ok := Malay[Key(message)]; ok {
		return text
	}
	return message
}
