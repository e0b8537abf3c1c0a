package understand

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/record"
)

// The specimen of ICAO Doc 9303 part 4 (appendix A): Anna Maria Eriksson of Utopia.
const (
	icaoLine1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
	icaoLine2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
)

func TestCheckDigitICAOExamples(t *testing.T) {
	// Check digits worked in ICAO Doc 9303 part 3, section 4.9, and the
	// fields of the part 4 specimen.
	tests := []struct {
		field string
		want  byte
	}{
		{"520727", '3'},         // part 3 worked example: date of birth 27 July 1952
		{"AB2134<<<", '5'},      // part 3 worked example: document number
		{"L898902C3", '6'},      // specimen document number
		{"740812", '2'},         // specimen birth date
		{"120415", '9'},         // specimen expiry
		{"ZE184226B<<<<<", '1'}, // specimen optional data
		{"L898902C3674081221204159ZE184226B<<<<<1", '0'}, // specimen composite
		{"<<<<<<<<<<<<<<", '0'},
	}
	for _, tc := range tests {
		got, ok := CheckDigit(tc.field)
		if !ok || got != tc.want {
			t.Errorf("CheckDigit(%q) = %c, %v; want %c", tc.field, got, ok, tc.want)
		}
	}
	if _, ok := CheckDigit("ab"); ok {
		t.Error("CheckDigit accepted lower case")
	}
}

func TestParseTD3Specimen(t *testing.T) {
	p, err := ParseTD3(icaoLine1, icaoLine2)
	if err != nil {
		t.Fatalf("ParseTD3: %v", err)
	}
	want := &record.Passport{
		Surname: "ERIKSSON", GivenNames: "ANNA MARIA", BirthDate: "1974-08-12",
		DocumentNumber: "L898902C3", Expiry: "2012-04-15", Nationality: "UTO", Sex: "F", Valid: true,
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("passport (-want +got):\n%s", diff)
	}
}

func TestParseTD3RejectsCorruption(t *testing.T) {
	tests := []struct{ name, l1, l2 string }{
		{"document number digit", icaoLine1, "L898912C36UTO7408122F1204159ZE184226B<<<<<10"},
		{"birth date digit", icaoLine1, "L898902C36UTO7408132F1204159ZE184226B<<<<<10"},
		{"expiry digit", icaoLine1, "L898902C36UTO7408122F1304159ZE184226B<<<<<10"},
		{"optional data", icaoLine1, "L898902C36UTO7408122F1204159ZE184227B<<<<<10"},
		{"composite", icaoLine1, "L898902C36UTO7408122F1204159ZE184226B<<<<<11"},
		{"sex swapped into number", icaoLine1, "L898902C36UTO7408122M1204159ZE184226B<<<<<10"[:20] + "X" + "1204159ZE184226B<<<<<19"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseTD3(tc.l1, tc.l2)
			if !errors.Is(err, ErrCheckDigit) && !errors.Is(err, ErrNoMRZ) {
				t.Fatalf("got err %v, want a check-digit error", err)
			}
			if p != nil && p.Valid {
				t.Error("corrupted zone reported valid")
			}
		})
	}
}

func TestReadMRZFromOCR(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // document number; empty = expect no valid zone
	}{
		{"clean", "PASSPORT\nUnited States\n" + icaoLine1 + "\n" + icaoLine2 + "\n", "L898902C3"},
		{"guillemets and spaces", "P«UTOERIKSSON«« ANNA«MARIA««««««««««««««««««\nL898902C3 6UTO 7408122 F 1204159 ZE184226B«««««10\n", "L898902C3"},
		{"lower case", strings.ToLower(icaoLine1) + "\n" + strings.ToLower(icaoLine2), "L898902C3"},
		{"O for 0 in dates", icaoLine1 + "\nL898902C36UTO74O8122F12O4159ZE184226B<<<<<1O\n", "L898902C3"},
		{"0 for O nowhere, 0 in number proven", icaoLine1 + "\nL8989O2C36UTO7408122F1204159ZE184226B<<<<<10\n", "L898902C3"},
		{"short filler line 1", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<\n" + icaoLine2, "L898902C3"},
		{"short filler line 2", icaoLine1 + "\nL898902C36UTO7408122F1204159ZE184226B<<<10\n", "L898902C3"},
		{"junk line between", icaoLine1 + "\n~~ ..\n" + icaoLine2, "L898902C3"},
		{"name fixed from printed page", "Surname\nERIKSSON\nGiven names\nANNA MARIA\nP<UTOERIKSSOON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<\n" + icaoLine2, "L898902C3"},
		{"trailing noise", icaoLine1 + "\n" + icaoLine2 + "Q\n", "L898902C3"},
		{"filler read as c and e", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<cecceccecceceececc\nL898902C36UTO7408122F1204159ZE184226B<<<<<1Q\n", "L898902C3"},
		{"no zone", "Patient name: nobody\nDOB 01/02/1960", ""},
		{"corrupted", icaoLine1 + "\nL898902C36UTO7408122F1204159ZE184226B<<<<<17\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadMRZ(tc.text)
			if tc.want == "" {
				if err == nil || (p != nil && p.Valid) {
					t.Fatalf("got %+v, %v; want no valid zone", p, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadMRZ: %v", err)
			}
			if p.DocumentNumber != tc.want || !p.Valid || p.Surname != "ERIKSSON" || p.GivenNames != "ANNA MARIA" {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestBirthCentury(t *testing.T) {
	tests := []struct{ dob, exp, want string }{
		{"740812", "120415", "1974-08-12"},
		{"150101", "310101", "2015-01-01"},
		{"310102", "310101", "1931-01-02"},
		{"000229", "300101", "2000-02-29"},
	}
	for _, tc := range tests {
		if got := birthCentury(tc.dob, tc.exp); got != tc.want {
			t.Errorf("birthCentury(%s, %s) = %s, want %s", tc.dob, tc.exp, got, tc.want)
		}
	}
}

func FuzzReadMRZ(f *testing.F) {
	f.Add(icaoLine1 + "\n" + icaoLine2)
	f.Add("P<USADOE<<JANE<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n")
	f.Add("P«\n<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ReadMRZ(s)
		if p == nil {
			if err == nil {
				t.Fatal("nil passport without error")
			}
			return
		}
		if p.Valid != (err == nil) {
			t.Fatalf("Valid %v with err %v", p.Valid, err)
		}
		if p.Valid {
			// A valid decode must re-verify from its own normalised form.
			if p.BirthDate == "" || p.Expiry == "" || p.DocumentNumber == "" {
				t.Fatalf("valid passport with empty fields: %+v", p)
			}
		}
	})
}
