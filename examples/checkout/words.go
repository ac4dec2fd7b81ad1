package main

import (
	"strings"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/blocktext"
)

// words are the page's texts in one language. %s in a message is the field's
// label or the biller's name. The Bahasa Malaysia follows the words of
// Malaysian bank apps and JomPAY: "Biller" and "Kod Biller", "Ref-1" and
// "Ref-2", "Jumlah perlu dibayar", "Bayar sebelum".
type words struct {
	Title, TabBill, TabJomPAY, Switch, Another                 string
	Product, ProductOther, Choose, Account, Ref1, BillerCode   string
	Ref2, Ref2Needed, Ref2IfAny, Amount, Optional, Check       string
	AmountDue, DueBy, NoAmount, Details, EBill, Proceed, Paid  string
	StillPay, CannotPay, CheckAccount, Interrupted, NotNow     string
	NoPresentment, BillerDown, Unrecognised, CrossSite, Months string
	codes                                                      map[iimmpact.QueryCode]string
	blocks                                                     map[string]string // the API's error_message texts
}

var pageWords = map[iimmpact.Language]words{
	iimmpact.English: {
		Title: "Pay a bill", TabBill: "Bills", TabJomPAY: "JomPAY", Switch: "Bahasa Malaysia", Another: "Check another bill",
		Product: "Biller", ProductOther: "Not listed? Product code", Choose: "Choose your biller", Account: "Account number",
		Ref1: "Ref-1 (account number)", BillerCode: "Biller code",
		Ref2: "Ref-2", Ref2Needed: "required by this biller", Ref2IfAny: "if your bill shows one", Amount: "Amount (RM)",
		Optional: "optional", Check: "Check bill",
		AmountDue: "Amount due", DueBy: "Pay by %s", NoAmount: "The biller did not say how much is due.",
		Details: "Bill details", EBill: "View the bill (PDF)", Proceed: "Proceed to payment", Paid: "Payment would start here for",
		StillPay: "You can still pay.", CannotPay: "This payment cannot go ahead.", CheckAccount: "Check the details on your bill and try again.",
		Interrupted:   "%s is having trouble right now: your payment might be slow or might not go through. They are working on it. You can still pay.",
		NotNow:        "Bill details are not available right now.",
		NoPresentment: "This biller does not show bill details here.", BillerDown: "%s cannot be reached right now, so no bill details are shown.",
		Unrecognised: "Bill details are not available for this account right now.",
		CrossSite:    "This request came from another site and was refused.",
		Months:       "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
		codes: map[iimmpact.QueryCode]string{
			iimmpact.QueryRequired:       "%s is required.",
			iimmpact.QueryBadCharacter:   "%s has a character that does not belong in it.",
			iimmpact.QueryJomPAYRequired: "%s is required for JomPAY.",
			iimmpact.QueryJomPAYOnly:     "%s is only used for JomPAY bills.",
			iimmpact.QueryBadAmount:      "Enter the amount as a number such as 45.90.",
			iimmpact.QueryAmountTooLarge: "%s is too large.",
			codeRef2Needed:               "%s is required by this biller.",
		},
		blocks: map[string]string{
			"the provided biller code is invalid": "The biller code is not valid.",
			"the provided amount is invalid":      "The amount is not valid.",
			"invalid account no":                  "The account number is not valid.",
			"ref-2 is required":                   "Ref-2 is required.",
		},
	},
	iimmpact.Malay: {
		Title: "Bayar bil", TabBill: "Bil", TabJomPAY: "JomPAY", Switch: "English", Another: "Semak bil lain",
		Product: "Biller", ProductOther: "Tiada dalam senarai? Kod produk", Choose: "Pilih biller anda", Account: "Nombor akaun",
		Ref1: "Ref-1 (nombor akaun)", BillerCode: "Kod Biller",
		Ref2: "Ref-2", Ref2Needed: "diperlukan oleh biller ini", Ref2IfAny: "jika ada pada bil anda", Amount: "Jumlah (RM)",
		Optional: "pilihan", Check: "Semak bil",
		AmountDue: "Jumlah perlu dibayar", DueBy: "Bayar sebelum %s", NoAmount: "Biller tidak menyatakan jumlah yang perlu dibayar.",
		Details: "Butiran bil", EBill: "Lihat bil (PDF)", Proceed: "Teruskan ke pembayaran", Paid: "Pembayaran akan bermula di sini untuk",
		StillPay: "Anda masih boleh membayar.", CannotPay: "Pembayaran ini tidak boleh diteruskan.", CheckAccount: "Semak butiran pada bil anda dan cuba lagi.",
		Interrupted:   "%s sedang mengalami gangguan: pembayaran anda mungkin lambat atau tidak berjaya. Mereka sedang membaikinya. Anda masih boleh membayar.",
		NotNow:        "Butiran bil tidak dapat dipaparkan buat masa ini.",
		NoPresentment: "Biller ini tidak memaparkan butiran bil di sini.", BillerDown: "%s tidak dapat dihubungi buat masa ini, jadi butiran bil tidak dipaparkan.",
		Unrecognised: "Butiran bil untuk akaun ini tidak dapat dipaparkan buat masa ini.",
		CrossSite:    "Permintaan ini datang dari laman lain dan ditolak.",
		Months:       "Jan Feb Mac Apr Mei Jun Jul Ogo Sep Okt Nov Dis",
		codes: map[iimmpact.QueryCode]string{
			iimmpact.QueryRequired:       "%s diperlukan.",
			iimmpact.QueryBadCharacter:   "%s mengandungi aksara yang tidak sepatutnya.",
			iimmpact.QueryJomPAYRequired: "%s diperlukan untuk JomPAY.",
			iimmpact.QueryJomPAYOnly:     "%s hanya untuk bil JomPAY.",
			iimmpact.QueryBadAmount:      "Masukkan jumlah dalam angka seperti 45.90.",
			iimmpact.QueryAmountTooLarge: "%s terlalu besar.",
			codeRef2Needed:               "%s diperlukan oleh biller ini.",
		},
		blocks: blocktext.Malay,
	},
}

// codeRef2Needed is the checkout's own rule: a biller it knows needs Ref-2.
const codeRef2Needed iimmpact.QueryCode = "ref2_needed"

// fill puts arg in place of %s.
func fill(format, arg string) string { return strings.ReplaceAll(format, "%s", arg) }

// block words the API's error_message for the customer: the four texts the
// vendor documents in the page's language, any other as the API sent it.
func (w words) block(message string) string {
	if text, ok := w.blocks[blocktext.Key(message)]; ok {
		return text
	}
	return message
}
