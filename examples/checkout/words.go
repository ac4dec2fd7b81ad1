package main

import (
	"reflect"
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

// phrase is one text of the page in English and in Bahasa Malaysia.
type phrase struct{ en, ms string }

// texts are the page's texts, each in both languages side by side, so that
// no text exists in one language only; pageWords spreads them into a words
// for each language. Its fields are words' string fields, by name.
var texts = struct {
	fields   map[string]phrase
	refusals map[string]phrase
	codes    map[iimmpact.QueryCode]phrase
}{
	fields: map[string]phrase{
		"Title":           {"Pay a bill", "Bayar bil"},
		"TabBill":         {"Bills", "Bil"},
		"TabJomPAY":       {"JomPAY", "JomPAY"},
		"Switch":          {"Bahasa Malaysia", "English"},
		"Another":         {"Check another bill", "Semak bil lain"},
		"Product":         {"Biller", "Penerima bayaran"},
		"ProductOther":    {"Not listed? Product code", "Tiada dalam senarai? Kod produk"},
		"Choose":          {"Choose your biller", "Pilih penerima bayaran anda"},
		"Account":         {"Account number", "Nombor akaun"},
		"Ref1":            {"Ref-1 (account number)", "Ref-1 (nombor akaun)"},
		"BillerCode":      {"Biller code", "Kod Biller"},
		"Ref2":            {"Ref-2", "Ref-2"},
		"Ref2Needed":      {"required by this biller", "diperlukan oleh penerima bayaran ini"},
		"Ref2IfAny":       {"if your bill shows one", "jika ada pada bil anda"},
		"Amount":          {"Amount (RM)", "Jumlah (RM)"},
		"Optional":        {"optional", "pilihan"},
		"Check":           {"Check bill", "Semak bil"},
		"AmountDue":       {"Amount due", "Jumlah perlu dibayar"},
		"DueBy":           {"Pay by %s", "Bayar sebelum %s"},
		"NoAmount":        {"The biller did not say how much is due.", "Penerima bayaran tidak menyatakan jumlah yang perlu dibayar."},
		"Details":         {"Bill details", "Butiran bil"},
		"EBill":           {"View the bill (PDF)", "Lihat bil (PDF)"},
		"Proceed":         {"Pay now", "Bayar sekarang"},
		"StillPay":        {"You can still pay.", "Anda masih boleh membayar."},
		"CannotPay":       {"This payment cannot go ahead.", "Pembayaran ini tidak boleh diteruskan."},
		"CheckAccount":    {"Check the details on your bill and try again.", "Semak butiran pada bil anda dan cuba lagi."},
		"Interrupted":     {"%s is having trouble right now: your payment might be slow or might not go through. They are working on it. You can still pay.", "%s sedang mengalami gangguan: pembayaran anda mungkin lambat atau tidak berjaya. Mereka sedang membaikinya. Anda masih boleh membayar."},
		"NotNow":          {"Bill details are not available right now.", "Butiran bil tidak dapat dipaparkan buat masa ini."},
		"NoPresentment":   {"This biller does not show bill details here.", "Penerima bayaran ini tidak memaparkan butiran bil di sini."},
		"BillerDown":      {"%s cannot be reached right now, so no bill details are shown.", "%s tidak dapat dihubungi buat masa ini, jadi butiran bil tidak dipaparkan."},
		"Unrecognised":    {"Bill details are not available for this account right now.", "Butiran bil untuk akaun ini tidak dapat dipaparkan buat masa ini."},
		"CrossSite":       {"This request came from another site and was refused.", "Permintaan ini datang dari laman lain dan ditolak."},
		"Months":          {"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", "Jan Feb Mac Apr Mei Jun Jul Ogo Sep Okt Nov Dis"},
		"BillerOther":     {"Not listed? Biller code", "Tiada dalam senarai? Kod Biller"},
		"Overdue":         {"Overdue: it was due on %s", "Tertunggak: perlu dibayar sebelum %s"},
		"PayAmount":       {"Amount to pay (RM)", "Jumlah bayaran (RM)"},
		"IC":              {"Payer's IC number", "Nombor MyKad pembayar"},
		"ICHint":          {"no dashes; JomPAY asks for it to check the payer's identity", "tanpa sempang; JomPAY memerlukannya untuk mengesahkan identiti pembayar"},
		"PaidTitle":       {"Payment successful", "Pembayaran berjaya"},
		"ProcessingTitle": {"Payment being processed", "Pembayaran sedang diproses"},
		"Processing":      {"Your payment is being processed. Do not pay again: this page updates by itself.", "Pembayaran anda sedang diproses. Jangan bayar sekali lagi: halaman ini dikemas kini dengan sendirinya."},
		"CheckNow":        {"Check now", "Semak sekarang"},
		"NotChargedTitle": {"Payment not made", "Pembayaran tidak dibuat"},
		"Failed":          {"The biller could not take this payment. You have not been charged.", "Penerima bayaran tidak dapat menerima pembayaran ini. Anda tidak dicaj."},
		"Refunded":        {"This payment was refunded to you.", "Pembayaran ini telah dikembalikan kepada anda."},
		"TryAgain":        {"Try again", "Cuba lagi"},
		"Used":            {"This payment form was already used for another payment. Check the bill again.", "Borang pembayaran ini telah digunakan untuk pembayaran lain. Semak bil sekali lagi."},
		"NoSuchPayment":   {"We could not find this payment. Check your bill again.", "Pembayaran ini tidak dijumpai. Semak bil anda sekali lagi."},
		"PaidAmount":      {"Amount paid", "Jumlah dibayar"},
		"Status":          {"Status", "Status"},
		"Succeeded":       {"Successful", "Berjaya"},
		"Reference":       {"Reference", "Rujukan"},
		"Serial":          {"Receipt number", "Nombor resit"},
		"Time":            {"Time", "Masa"},
		"BadAmount":       {"Enter the amount to pay as a number such as 45.90.", "Masukkan jumlah bayaran dalam angka seperti 45.90."},
		"NeedIC":          {"Enter the payer's IC number, without dashes: JomPAY needs it.", "Masukkan nombor MyKad pembayar tanpa sempang: JomPAY memerlukannya."},
		"Expired":         {"This payment form has expired. Check your bill again: nothing was paid.", "Borang pembayaran ini telah tamat tempoh. Semak bil anda sekali lagi: tiada bayaran dibuat."},
		"NotMinted":       {"This payment form is not one this shop gave you. Check your bill again: nothing was paid.", "Borang pembayaran ini bukan daripada kedai ini. Semak bil anda sekali lagi: tiada bayaran dibuat."},
		"AtMost":          {"You can pay at most %s for this bill.", "Anda boleh membayar paling banyak %s untuk bil ini."},
		"NothingDue":      {"Nothing to pay", "Tiada apa-apa perlu dibayar"},
	},
	refusals: map[string]phrase{
		"busy":        {"Payments are busy right now. You have not been charged. Try again in a minute.", "Pembayaran sibuk buat masa ini. Anda tidak dicaj. Cuba lagi sebentar lagi."},
		"blocked":     {"This payment cannot go ahead. You have not been charged.", "Pembayaran ini tidak boleh diteruskan. Anda tidak dicaj."},
		"unavailable": {"Payments are not available right now. You have not been charged.", "Pembayaran tidak tersedia buat masa ini. Anda tidak dicaj."},
		"declined:43": {"This shop cannot take payments right now. You have not been charged.", "Kedai ini tidak dapat menerima pembayaran buat masa ini. Anda tidak dicaj."},
		"declined":    {"The payment was not accepted. You have not been charged.", "Pembayaran tidak diterima. Anda tidak dicaj."},
	},
	codes: map[iimmpact.QueryCode]phrase{
		iimmpact.QueryRequired:       {"%s is required.", "%s diperlukan."},
		iimmpact.QueryBadCharacter:   {"%s has a character that does not belong in it.", "%s mengandungi aksara yang tidak sepatutnya."},
		iimmpact.QueryJomPAYRequired: {"%s is required for JomPAY.", "%s diperlukan untuk JomPAY."},
		iimmpact.QueryJomPAYOnly:     {"%s is only used for JomPAY bills.", "%s hanya untuk bil JomPAY."},
		iimmpact.QueryBadAmount:      {"Enter the amount as a number such as 45.90.", "Masukkan jumlah dalam angka seperti 45.90."},
		iimmpact.QueryAmountTooLarge: {"%s is too large.", "%s terlalu besar."},
		codeRef2Needed:               {"%s is required by this biller.", "%s diperlukan oleh penerima bayaran ini."},
	},
}

// englishBlocks are the vendor's documented error_message texts in the
// page's English; blocktext.Malay has them in Malay.
var englishBlocks = map[string]string{
	"the provided biller code is invalid": "The biller code is not valid.",
	"the provided amount is invalid":      "The amount is not valid.",
	"invalid account no":                  "The account number is not valid.",
	"ref-2 is required":                   "Ref-2 is required.",
}

// pageWords are the page's words in each language.
var pageWords = map[iimmpact.Language]words{
	iimmpact.English: wordsIn(func(p phrase) string { return p.en }, englishBlocks),
	iimmpact.Malay:   wordsIn(func(p phrase) string { return p.ms }, blocktext.Malay),
}

// wordsIn spreads texts into a words in the language pick chooses. A field
// of words that texts does not name is a bug the tests catch (every text is
// checked non-empty in both languages).
func wordsIn(pick func(phrase) string, blocks map[string]string) words {
	w := words{refusals: map[string]string{}, codes: map[iimmpact.QueryCode]string{}, blocks: blocks}
	v := reflect.ValueOf(&w).Elem()
	for name, p := range texts.fields {
		v.FieldByName(name).SetString(pick(p))
	}
	for k, p := range texts.refusals {
		w.refusals[k] = pick(p)
	}
	for k, p := range texts.codes {
		w.codes[k] = pick(p)
	}
	return w
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
