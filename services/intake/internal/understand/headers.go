package understand

// headerWords are the words the headers of medication, lab and other
// clinical tables use for each column, matched as whole words
// (table.HeaderIndex), in order of preference: "Strength / dose" is a
// dose column, "What it is for" a reason column.
type headerWords struct {
	medName, medDose, medHow, medSince, medStop, medRoute []string
	// medNamed are the headers that say a column holds medications.
	medNamed []string
	// medReason name what a drug is for: never a source of drug names
	// ("blood clots after the aspirin allergy").
	medReason                                                    []string
	labName, labValue, labOutOfRange, labUnit, labRange, labFlag []string
	date, code, codeSystem, status                               []string
	problem, onset, substance, reaction, severity, procedure     []string
}

func newHeaderWords() headerWords {
	return headerWords{
		medName:  []string{"medication name", "drug name", "medication", "medications", "medicine", "medicines", "drug", "prescription", "product", "rx", "name"},
		medNamed: []string{"medication name", "drug name", "medication", "medications", "medicine", "medicines", "drug"},
		medDose:  []string{"how much", "strength", "dose", "dosage", "amount", "mg"},
		medHow:   []string{"how i take it", "how to take", "how taken", "how often", "directions", "instructions", "sig", "frequency", "schedule", "when", "take"},
		medSince: []string{"taking since", "since", "start date", "date started", "started", "start", "began", "from"},
		medStop:  []string{"stop date", "end date", "stopped", "until", "end"},
		medRoute: []string{"route"},
		medReason: []string{"what it is for", "what it s for", "reason", "indication", "indications", "purpose", "condition",
			"used for", "for"},
		labName: []string{"test name", "lab test", "test", "tests", "component", "analyte", "result type", "group description",
			"observation", "description", "name", "procedure"},
		labValue:      []string{"result value", "your value", "your result", "result", "results", "value", "in range", "observation value"},
		labOutOfRange: []string{"out of range", "abnormal result"},
		labUnit:       []string{"units", "unit", "uom"},
		labRange:      []string{"reference range", "reference interval", "ref range", "reference", "normal range", "standard range", "range", "interval", "normal"},
		labFlag:       []string{"flag", "flags", "abnormal", "abn", "interpretation", "indicator", "ind", "h l"},
		date: []string{"date collected", "collection date", "collected", "date and time", "date time", "date", "time", "drawn",
			"specimen date", "observed", "resulted", "effective dates", "effective date", "dates"},
		code:       []string{"loinc", "code"},
		codeSystem: []string{"code system", "system"},
		status:     []string{"status"},
		problem:    []string{"problem", "problems", "condition", "diagnosis", "concern", "name", "description"},
		onset:      []string{"onset", "onset date", "date of onset", "effective dates", "effective date", "date"},
		substance:  []string{"substance", "allergen", "allergy", "agent", "name", "description"},
		reaction:   []string{"reaction", "reactions", "manifestation"},
		severity:   []string{"severity"},
		procedure:  []string{"procedure", "procedures", "name", "description", "surgery"},
	}
}
