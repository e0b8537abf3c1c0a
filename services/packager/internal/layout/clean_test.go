package layout

import "testing"

func TestCleanRel(t *testing.T) {
	for in, want := range map[string]string{
		"DICOM/ST0/SE0/IM0": "DICOM/ST0/SE0/IM0",
		"../x":              "",
		"/abs":              "",
		"a/./b":             "",
		"a\\b":              "",
		"":                  "",
	} {
		if got := cleanRel(in); got != want {
			t.Errorf("cleanRel(%q) = %q, want %q", in, got, want)
		}
	}
}
