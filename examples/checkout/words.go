package main

import (
	"strings"

	"github.com/iimmpact-go/iimmpact"
	"github.com/iimmpact-go/iimmpact/examples/internal/blocktext"
)

// words are the page's texts in one language. %s in a message is the field's
// label or the biller's name. The Bahasa Malaysia follows the words of
// Malaysian bank apps and JomPAY: "Penerima bayaran" (the payee), and
// "Kod Biller", "Ref-1" and "Ref-2" as JomPAY bills print them, "Jumlah perlu
// dibayar", "Bayar sebelum".
type words struct {
	Title, TabBill, TabJomPAY, Switch, Another                 string
	Product, ProductOther, Choose, Account, Ref1, BillerCode   string
	Ref2, Ref2Needed, Ref2IfAny, Amount, Optional, Check       string
	AmountDue, DueBy, NoAmount, Details, EBill, Proceed        string
	StillPay, CannotPay, CheckAccount, Interrupted, NotNow     string
	NoPresentment, BillerDown, Unrecognised, CrossSite, Months string
	BillerOther, Overdue, PayAmount, IC, ICHint, PaidTitle     string
	Processing, ProcessingTitle, CheckNow, NotChargedTitle     string
	Failed, Refunded, TryAgain, Used, NoSuchPayment            string
	PaidAmount, Status, Succeeded, Reference, Serial, Time     string
	BadAmount, NeedIC, Expired, NotMinted, AtMost, NothingDue  string
	refusals                                                   map[string]string // by order reason; "declined" takes the code
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
		Details: "Bill details", EBill: "View the bill (PDF)", Proceed: "Pay now",
		StillPay: "You can still pay.", CannotPay: "This payment cannot go ahead.", CheckAccount: "Check the details on your bill and try again.",
		Interrupted:   "%s is having trouble right now: your payment might be slow or might not go through. They are working on it. You can still pay.",
		NotNow:        "Bill details are not available right now.",
		NoPresentment: "This biller does not show bill details here.", BillerDown: "%s cannot be reached right now, so no bill details are shown.",
		Unrecognised: "Bill details are not available for this account right now.",
		CrossSite:    "This request came from another site and was refused.",
		Months:       "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
		BillerOther:  "Not listed? Biller code", Overdue: "Overdue: it was due on %s",
		PayAmount: "Amount to pay (RM)", IC: "Payer's IC number", ICHint: "no dashes; JomPAY asks for it to check the payer's identity",
		PaidTitle: "Payment successful", ProcessingTitle: "Payment being processed",
		Processing: "Your payment is being processed. Do not pay again: this page updates by itself.", CheckNow: "Check now",
		NotChargedTitle: "Payment not made", Failed: "The biller could not take this payment. You have not been charged.",
		Refunded: "This payment was refunded to you.", TryAgain: "Try again",
		Used:          "This payment form was already used for another payment. Check the bill again.",
		NoSuchPayment: "We could not find this payment. Check your bill again.",
		PaidAmount:    "Amount paid", Status: "Status", Succeeded: "Successful", Reference: "Reference", Serial: "Receipt number", Time: "Time",
		BadAmount: "Enter the amount to pay as a number such as 45.90.", NeedIC: "Enter the payer's IC number, without dashes: JomPAY needs it.",
		Expired:   "This payment form has expired. Check your bill again: nothing was paid.",
		NotMinted: "This payment form is not one this shop gave you. Check your bill again: nothing was paid.",
		AtMost:    "You can pay at most %s for this bill.", NothingDue: "Nothing to pay",
		refusals: map[string]string{
			"busy":        "Payments are busy right now. You have not been charged. Try again in a minute.",
			"blocked":     "This payment cannot go ahead. You have not been charged.",
			"unavailable": "Payments are not available right now. You have not been charged.",
			"declined:43": "This shop cannot take payments right now. You have not been charged.",
			"declined":    "The payment was not accepted. You have not been charged.",
		},
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
		Product: "Penerima bayaran", ProductOther: "Tiada dalam senarai? Kod produk", Choose: "Pilih penerima bayaran anda", Account: "Nombor akaun",
		Ref1: "Ref-1 (nombor akaun)", BillerCode: "Kod Biller",
		Ref2: "Ref-2", Ref2Needed: "diperlukan oleh penerima bayaran ini", Ref2IfAny: "jika ada pada bil anda", Amount: "Jumlah (RM)",
		Optional: "pilihan", Check: "Semak bil",
		AmountDue: "Jumlah perlu dibayar", DueBy: "Bayar sebelum %s", NoAmount: "Penerima bayaran tidak menyatakan jumlah yang perlu dibayar.",
		Details: "Butiran bil", EBill: "Lihat bil (PDF)", Proceed: "Bayar sekarang",
		StillPay: "Anda masih boleh membayar.", CannotPay: "Pembayaran ini tidak boleh diteruskan.", CheckAccount: "Semak butiran pada bil anda dan cuba lagi.",
		Interrupted:   "%s sedang mengalami gangguan: pembayaran anda mungkin lambat atau tidak berjaya. Mereka sedang membaikinya. Anda masih boleh membayar.",
		NotNow:        "Butiran bil tidak dapat dipaparkan buat masa ini.",
		NoPresentment: "Penerima bayaran ini tidak memaparkan butiran bil di sini.", BillerDown: "%s tidak dapat dihubungi buat masa ini, jadi butiran bil tidak dipaparkan.",
		Unrecognised: "Butiran bil untuk akaun ini tidak dapat dipaparkan buat masa ini.",
		CrossSite:    "Permintaan ini datang dari laman lain dan ditolak.",
		Months:       "Jan Feb Mac Apr Mei Jun Jul Ogo Sep Okt Nov Dis",
		BillerOther:  "Tiada dalam senarai? Kod Biller", Overdue: "Tertunggak: perlu dibayar sebelum %s",
		PayAmount: "Jumlah bayaran (RM)", IC: "Nombor MyKad pembayar", ICHint: "tanpa sempang; JomPAY memerlukannya untuk mengesahkan identiti pembayar",
		PaidTitle: "Pembayaran berjaya", ProcessingTitle: "Pembayaran sedang diproses",
		Processing: "Pembayaran anda sedang diproses. Jangan bayar sekali lagi: halaman ini dikemas kini dengan sendirinya.", CheckNow: "Semak sekarang",
		NotChargedTitle: "Pembayaran tidak dibuat", Failed: "Penerima bayaran tidak dapat menerima pembayaran ini. Anda tidak dicaj.",
		Refunded: "Pembayaran ini telah dikembalikan kepada anda.", TryAgain: "Cuba lagi",
		Used:          "Borang pembayaran ini telah digunakan untuk pembayaran lain. Semak bil sekali lagi.",
		NoSuchPayment: "Pembayaran ini tidak dijumpai. Semak bil anda sekali lagi.",
		PaidAmount:    "Jumlah dibayar", Status: "Status", Succeeded: "Berjaya", Reference: "Rujukan", Serial: "Nombor resit", Time: "Masa",
		BadAmount: "Masukkan jumlah bayaran dalam angka seperti 45.90.", NeedIC: "Masukkan nombor MyKad pembayar tanpa sempang: JomPAY memerlukannya.",
		Expired:   "Borang pembayaran ini telah tamat tempoh. Semak bil anda sekali lagi: tiada bayaran dibuat.",
		NotMinted: "Borang pembayaran ini bukan daripada kedai ini. Semak bil anda sekali lagi: tiada bayaran dibuat.",
		AtMost:    "Anda boleh membayar paling banyak %s untuk bil ini.", NothingDue: "Tiada apa-apa perlu dibayar",
		refusals: map[string]string{
			"busy":        "Pembayaran sibuk buat masa ini. Anda tidak dicaj. Cuba lagi sebentar lagi.",
			"blocked":     "Pembayaran ini tidak boleh diteruskan. Anda tidak dicaj.",
			"unavailable": "Pembayaran tidak tersedia buat masa ini. Anda tidak dicaj.",
			"declined:43": "Kedai ini tidak dapat menerima pembayaran buat masa ini. Anda tidak dicaj.",
			"declined":    "Pembayaran tidak diterima. Anda tidak dicaj.",
		},
		codes: map[iimmpact.QueryCode]string{
			iimmpact.QueryRequired:       "%s diperlukan.",
			iimmpact.QueryBadCharacter:   "%s mengandungi aksara yang tidak sepatutnya.",
			iimmpact.QueryJomPAYRequired: "%s diperlukan untuk JomPAY.",
			iimmpact.QueryJomPAYOnly:     "%s hanya untuk bil JomPAY.",
			iimmpact.QueryBadAmount:      "Masukkan jumlah dalam angka seperti 45.90.",
			iimmpact.QueryAmountTooLarge: "%s terlalu besar.",
			codeRef2Needed:               "%s diperlukan oleh penerima bayaran ini.",
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

// refusal words why a payment was not made: reason is the order's, such as
// "busy" or "declined:43". The vendor's code is for the logs, not the
// shopper.
func (w words) refusal(reason string) string {
	if text, ok := w.refusals[reason]; ok {
		return text
	}
	if strings.HasPrefix(reason, "declined:") {
		return w.refusals["declined"]
	}
	return w.refusals["unavailable"]
}
