package textlayout

import (
	"strconv"
	"strings"
)

// ReadTesseractTSV reads the TSV output of the tesseract command
// (`tesseract IMAGE OUT tsv`) for an image of dpi dots per inch: its words
// as a page in points, in Tesseract's lines, each paragraph a block. The
// OCR service reads the same words from hOCR; tools and tests that run the
// command use this. Malformed lines are skipped.
func ReadTesseractTSV(data []byte, dpi float64) Page {
	if dpi <= 0 || !finite(dpi) {
		dpi = 300
	}
	pt := 72 / dpi
	p := Page{Number: 1, Source: SourceTesseract}
	paras := map[string]int{}
	cur := ""
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(strings.TrimRight(l, "\r"), "\t")
		if len(f) != 12 {
			continue
		}
		var n [10]float64
		ok := true
		for i := range n {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil || !finite(v) {
				ok = false
				break
			}
			n[i] = v
		}
		if !ok {
			continue
		}
		switch {
		case f[0] == "1":
			p.Width, p.Height = n[8]*pt, n[9]*pt
			if n[1] > 0 {
				p.Number = int(n[1])
			}
		case f[0] == "5" && strings.TrimSpace(f[11]) != "" && n[8] >= 0 && n[9] >= 0:
			par := f[2] + "." + f[3]
			if _, seen := paras[par]; !seen {
				paras[par] = len(paras)
			}
			if line := par + "." + f[4]; line != cur || len(p.Lines) == 0 {
				p.Lines = append(p.Lines, Line{Block: paras[par]})
				cur = line
			}
			ln := &p.Lines[len(p.Lines)-1]
			ln.Words = append(ln.Words, Word{Text: strings.TrimSpace(f[11]), Box: Box{
				X0: n[6] * pt, Y0: n[7] * pt, X1: (n[6] + n[8]) * pt, Y1: (n[7] + n[9]) * pt}})
		}
	}
	return p
}
