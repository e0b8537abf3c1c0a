package textfold

import "testing"

func TestASCII(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Müller", "Muller"},
		{"Straße", "Strasse"},
		{"STRASSE", "STRASSE"},
		{"Łukasiewicz", "Lukasiewicz"},
		{"Zoë Ørsted", "Zoe OErsted"},
		{"Þórsdóttir", "THorsdottir"},
		{"José García-López", "Jose Garcia-Lopez"},
		{"plain ascii", "plain ascii"},
		{"王 小明", " "},
	} {
		if got := ASCII(tc.in); got != tc.want {
			t.Errorf("ASCII(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFoldKeepsOtherScripts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Müller", "Muller"}, {"Straße", "Strasse"}, {"王 小明", "王 小明"}, {"김민준", "김민준"}, {"Zoë", "Zoe"},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"KATHERINE", "CATHERINE", 1}, {"SMITH", "SMYTHE", 2}, {"é", "e", 1}, {"abc", "", 3},
	} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func FuzzASCII(f *testing.F) {
	f.Add("Müller Straße Ø")
	f.Fuzz(func(t *testing.T, s string) {
		out := ASCII(s)
		for i := range len(out) {
			if out[i] >= 0x80 {
				t.Fatalf("ASCII(%q) = %q: not ASCII", s, out)
			}
		}
	})
}

func TestContainsWord(t *testing.T) {
	for _, c := range []struct {
		s, w string
		want bool
	}{
		{"potassium level", "potassium", true},
		{"hemoglobin a1c", "a1c", true},
		{"hba1c", "a1c", false},
		{"urine_glucose", "glucose", true},
		{"glucose2", "glucose", false},
		{"x glucose x glucose", "glucose", true},
		{"gluc", "glucose", false},
	} {
		if got := ContainsWord(c.s, c.w); got != c.want {
			t.Errorf("ContainsWord(%q, %q) = %v, want %v", c.s, c.w, got, c.want)
		}
	}
}
