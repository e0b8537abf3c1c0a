package ingest

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/sniff"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		warn     bool
	}{
		{"scans/MRI hip.zip", "scans/MRI hip.zip", false},
		{"Résultats/été.pdf", "Résultats/été.pdf", false},
		{"R\xe9sultats.pdf", "Résultats.pdf", true}, // Windows-1252 bytes
		{"a\x00b\x01c.txt", "abc.txt", true},
		{"..\\..\\boot.ini", "boot.ini", true},
		{"/abs//path/./x", "abs/path/x", true},
		{"", "unnamed", true},
		{"../..", "unnamed", true},
		{"x\u202etxt.exe", "xtxt.exe", true}, // right-to-left override
	}
	for _, tc := range tests {
		got, warn := CleanName(tc.in)
		if got != tc.want || (warn != nil) != tc.warn {
			t.Errorf("CleanName(%q) = %q, warn %v; want %q, warn %v", tc.in, got, warn != nil, tc.want, tc.warn)
		}
		if warn != nil && warn.Code != record.CodeBadName {
			t.Errorf("warning code %q", warn.Code)
		}
	}
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"a/b.pdf", "../x", "R\xe9s", "\x00", "a\\..\\b", strings.Repeat("é", 800)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, _ := CleanName(in)
		if !utf8.ValidString(out) || out == "" || len(out) > MaxNameLen {
			t.Fatalf("CleanName(%q) = %q", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || r == '\\' {
				t.Fatalf("CleanName(%q) = %q keeps %U", in, out, r)
			}
		}
		for _, p := range strings.Split(out, "/") {
			if p == "" || p == "." || p == ".." {
				t.Fatalf("CleanName(%q) = %q has component %q", in, out, p)
			}
		}
		if again, w := CleanName(out); again != out || w != nil {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

func TestRoute(t *testing.T) {
	for typ, want := range map[string]string{
		record.TypeDICOM: record.RouteDICOM, record.TypePDF: record.RouteOCR, record.TypeJPEG: record.RouteOCR,
		record.TypePNG: record.RouteOCR, record.TypeTIFF: record.RouteOCR, record.TypeZIP: record.RouteArchive,
		record.TypeText: record.RouteText, record.TypeDICOMDIR: record.RouteNone,
	} {
		if got, rej := Route(typ); got != want || rej != nil {
			t.Errorf("Route(%s) = %s, %v; want %s", typ, got, rej, want)
		}
	}
	for typ, code := range map[string]string{
		sniff.TypeHEIC: record.CodeUnknownType, sniff.TypeOOXML: record.CodeUnknownType,
		sniff.TypeExecutable: record.CodeUnknownType, record.TypeUnknown: record.CodeUnreadable,
	} {
		if _, rej := Route(typ); rej == nil || rej.Code != code {
			t.Errorf("Route(%s) rejection %v, want %s", typ, rej, code)
		}
	}
}
