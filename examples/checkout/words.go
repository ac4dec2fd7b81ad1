package main

import "github.com/iimmpact-go/iimmpact"

// words are the page's texts in one language. %s in a message is the field's
// label.
type words struct {
	Title, Intro, TabBill, TabJomPAY, Switch                      string
	Product, ProductHint, Account, Ref1, BillerCode, Ref2, Amount string
	Optional, Check, YourBill, NoDetails, NotNow, StillPay        string
	Proceed, CannotPay, Paid, EBill                               string
	Required, JomPAYOnly, BadAmount, Invalid                      string
}

var pageWords = map[iimmpact.Language]words{
	iimmpact.English: {
		Title: "Pay a bill", Intro: "Check your bill before you pay.", TabBill: "Bills", TabJomPAY: "JomPAY", Switch: "Bahasa Malaysia",
		Product: "Biller", ProductHint: "Choose or type a product code, such as TNB", Account: "Account number", Ref1: "Ref-1 (account number)",
		BillerCode: "Biller code", Ref2: "Ref-2", Amount: "Amount (RM)",
		Optional: "optional", Check: "Check bill", YourBill: "Your bill",
		NoDetails: "No bill details are available for this account.", NotNow: "Bill details are not available right now.",
		StillPay: "You can still pay.", Proceed: "Proceed to payment", CannotPay: "This payment cannot go ahead.",
		Paid: "Payment would start here for", EBill: "Download the bill (PDF)",
		Required: "%s is required.", JomPAYOnly: "%s is only used for JomPAY bills.",
		BadAmount: "%s must be an amount such as 45.90.", Invalid: "%s is not valid.",
	},
	iimmpact.Malay: {
		Title: "Bayar bil", Intro: "Semak bil anda sebelum membayar.", TabBill: "Bil", TabJomPAY: "JomPAY", Switch: "English",
		Product: "Pembekal", ProductHint: "Pilih atau taip kod produk, contohnya TNB", Account: "Nombor akaun", Ref1: "Ref-1 (nombor akaun)",
		BillerCode: "Kod pembekal", Ref2: "Ref-2", Amount: "Jumlah (RM)",
		Optional: "pilihan", Check: "Semak bil", YourBill: "Bil anda",
		NoDetails: "Tiada butiran bil untuk akaun ini.", NotNow: "Butiran bil tidak dapat dipaparkan buat masa ini.",
		StillPay: "Anda masih boleh membayar.", Proceed: "Teruskan pembayaran", CannotPay: "Pembayaran ini tidak boleh diteruskan.",
		Paid: "Pembayaran akan bermula di sini untuk", EBill: "Muat turun bil (PDF)",
		Required: "%s diperlukan.", JomPAYOnly: "%s hanya digunakan untuk bil JomPAY.",
		BadAmount: "%s mesti jumlah seperti 45.90.", Invalid: "%s tidak sah.",
	},
}
