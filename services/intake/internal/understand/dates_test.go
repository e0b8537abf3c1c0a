package understand

import "testing"

func TestDateFormats(t *testing.T) {
	p := newDateParser()
	tests := []struct{ in, want string }{
		{"Collected: 04/12/2026 08:15 AM", "2026-04-12"},
		{"Collected 4/2/26", "2026-04-02"},
		{"DOB 03/14/58", "1958-03-14"},
		{"2026-04-12T10:00", "2026-04-12"},
		{"April 12, 2026", "2026-04-12"},
		{"Apr. 12 2026", "2026-04-12"},
		{"Sept 3rd, 2025", "2025-09-03"},
		{"12-Apr-2026", "2026-04-12"},
		{"12 April 2026", "2026-04-12"},
		{"04-12-2026", "2026-04-12"},
		{"02/30/2026", ""},
		{"02/29/2024", "2024-02-29"},
		{"02/29/2025", ""},
		{"13/01/2026", ""},
		{"BP 120/80", ""},
		{"Page 1 of 3", ""},
	}
	for _, tc := range tests {
		got := ""
		if ms := p.find(tc.in); len(ms) > 0 {
			got = ms[0].iso
		}
		if got != tc.want {
			t.Errorf("find(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDocumentDateNotBirthDate(t *testing.T) {
	f := newFactReader(newDateParser())
	lines := []string{"EXAM: MRI RIGHT KNEE", "Date of Birth: 03/14/1958", "Date: 09/15/2026", "IMPRESSION: normal"}
	if d, _ := f.date(lines, DateExam); d != "2026-09-15" {
		t.Errorf("got %s, want 2026-09-15", d)
	}
	lines = []string{"DATE OF BIRTH: 03/14/1958"}
	if d, ok := f.date(lines, DateSurgery); ok {
		t.Errorf("got %s from a birth date", d)
	}
}
