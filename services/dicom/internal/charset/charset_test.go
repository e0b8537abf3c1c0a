package charset

import "testing"

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		cs   []string
		in   string
		pn   bool
		want string
	}{
		{"ascii", nil, "Doe^Jane", true, "Doe^Jane"},
		{"latin1", []string{"ISO_IR 100"}, "Buc^J\xe9r\xf4me", true, "Buc^Jérôme"},
		{"default utf8", nil, "Jos\xc3\xa9", false, "José"},
		{"default latin1", nil, "Jos\xe9", false, "José"},
		{"utf8", []string{"ISO_IR 192"}, "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", true, "Wang^XiaoDong=王^小東="},
		{"korean", []string{"", "ISO 2022 IR 149"}, "\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf", true, "김희중"},
		{"japanese", []string{"", "ISO 2022 IR 87"}, "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", true, "Yamada^Tarou=山田^太郎"},
		{"cyrillic", []string{"ISO_IR 144"}, "\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3", true, "Люкceмбypг"},
		{"unknown escape", []string{"", "ISO 2022 IR 87"}, "a\x1bZb", false, "aZb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := New(tc.cs)
			if got := d.Decode([]byte(tc.in), tc.pn); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("\x1b$)C\xb1\xe8", "ISO 2022 IR 149")
	f.Add("\x1b$B;3\x1b(B", "ISO 2022 IR 87")
	f.Add("\x1b$(D;3", "ISO 2022 IR 159")
	f.Fuzz(func(t *testing.T, in, term string) {
		for _, cs := range [][]string{{term}, {"", term}, {"ISO 2022 IR 13", term}} {
			d, _ := New(cs)
			_ = d.Decode([]byte(in), true)
			_ = d.Decode([]byte(in), false)
		}
	})
}
