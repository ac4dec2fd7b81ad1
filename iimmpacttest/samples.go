package iimmpacttest

import "encoding/json"

// Sample is one of the sample accounts a new Server knows.
type Sample struct {
	Product, Account, BillerCode, Ref2 string
	// Description says what the sample shows, such as "valid water bill".
	Description string
}

// Samples returns the sample accounts: at least one for each row of the
// vendor's table, and a bill with nothing owed. Payments to any of them go
// through (see FailureAccounts for those that fail).
func Samples() []Sample {
	return []Sample{
		{Product: "AKSB", Account: "1234567890", Description: "Air Kelantan water bill (the reference example): show"},
		{Product: "TNB", Account: "220012345678", Description: "TNB electricity bill with a CustomField object and an e-bill: show"},
		{Product: "TNB", Account: "220000000000", Description: "TNB electricity bill already paid, nothing owed: show"},
		{Product: "JOMPAY", Account: "8800123456", BillerCode: "5454", Ref2: "PJ-2025-001", Description: "JomPAY assessment tax, needs Ref-2: show (without -ref2: block)"},
		{Product: "DIGI", Account: "0123456789", Description: "a product without bill presentment: hide"},
		{Product: "SYABAS", Account: "3000000001", Description: "the biller is down (network status: Interruption): hide"},
		{Product: "AKSB", Account: "0000000000", Description: "an account that does not exist: block"},
		{Product: "UNIFI", Account: "0312345678", Description: "a message the vendor's table does not list: hide (and the SDK warns once)"},
	}
}

func (s *Server) loadSamples() {
	s.Set("AKSB", "1234567890", ValidBill(Data{
		"BillerName":   "Air Kelantan",
		"CustomerName": "EN. MOHD MOKHTAR B.AWANG",
		"Outstanding":  json.Number("45.94"),
		"Balance":      "",
		"Data":         "",
		"Address":      "KG. TUALANG KUDONG, 18500 LABIK, MACHANG.",
		"E-Bill":       nil,
		"CustomField":  "",
		"DueDate":      "13/06/2025",
	}))
	s.Set("TNB", "220012345678", ValidBill(Data{
		"BillerName":   "Tenaga Nasional Berhad",
		"CustomerName": "LIM AH KOW",
		"Outstanding":  json.Number("120.50"),
		"Address":      "12, JALAN SS2/24, 47300 PETALING JAYA, SELANGOR.",
		"E-Bill":       "https://sandbox.invalid/e-bill/220012345678.pdf",
		"CustomField":  json.RawMessage(`{"tariff":"A (domestic)","meter":"M-0042","kWh":533}`), // in the biller's order
		"DueDate":      "28/06/2025",
	}))
	s.Set("TNB", "220000000000", ValidBill(Data{
		"BillerName":  "Tenaga Nasional Berhad",
		"Outstanding": json.Number("0.00"),
		"DueDate":     "28/06/2025",
	}))
	s.AddJomPAYBiller(JomPAYBiller{Code: "5454", Name: "MBPJ Cukai Taksiran", NeedsRef2: true})
	s.Set("JOMPAY", "8800123456", ValidBill(Data{
		"BillerName":   "MBPJ Cukai Taksiran",
		"CustomerName": "TAN SRI ABU BAKAR",
		"Outstanding":  "356.00",
		"DueDate":      "31/08/2025",
	}))
	s.Set("UNIFI", "0312345678", Message("Account is temporarily suspended"))
	s.SetProduct("DIGI", Unavailable())
	s.SetProduct("SYABAS", ServiceUnavailable())
	s.statuses["SYABAS"] = Interruption // the biller is down
}
