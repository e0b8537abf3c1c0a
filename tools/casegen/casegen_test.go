package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/handoffmed/handoff/platform/testenv"
)

// TestDeterministic regenerates every case and compares it byte for byte
// with the committed cases under testdata/cases: the generator must be
// reproducible and the committed cases current. It runs the command as a
// developer does (go run ./tools/casegen), built apart from the test
// binary: drawing and encoding every picture and scan under the race
// detector took a minute of CPU, for a program that runs in one goroutine.
func TestDeterministic(t *testing.T) {
	testenv.Tool(t, "pdftoppm")
	out := t.TempDir()
	bin := filepath.Join(t.TempDir(), "casegen")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	if b, err := exec.Command(bin, "-out", out, "-corpus", "../../testdata/corpus/ccda-peer").CombinedOutput(); err != nil {
		t.Fatalf("casegen: %v\n%s", err, b)
	}
	committed := "../../testdata/cases"
	n := 0
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		want, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil {
			t.Errorf("%s: not committed (run: go run ./tools/casegen -out testdata/cases)", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: differs from the committed file (run: go run ./tools/casegen -out testdata/cases)", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("only %d files generated", n)
	}
}

func TestMRZLines(t *testing.T) {
	// The ICAO 9303 part 4 specimen, rebuilt from its fields.
	p := passportSpec{surname: "Eriksson", given: "Anna Maria", birth: day(1974, 8, 12), expiry: day(2012, 4, 15),
		number: "L898902C3", sex: "F", country: "UTO"}
	l1, l2 := mrzLines(p)
	if l1 != "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" {
		t.Errorf("line 1: got %s", l1)
	}
	// The specimen's optional data is ZE184226B; ours is empty, so only the
	// fields before it are the specimen's.
	if l2[:28] != "L898902C36UTO7408122F1204159" || len(l2) != 44 {
		t.Errorf("line 2: got %s", l2)
	}
}

// Together the cases cover every code of issue 5.
func TestEveryIssueCodeCovered(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range cases("../../testdata/corpus/ccda-peer") {
		for _, code := range c.codes {
			seen[code] = true
		}
	}
	for _, code := range issueCodes {
		if !seen[code] {
			t.Errorf("no case has %s", code)
		}
	}
}
