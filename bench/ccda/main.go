// Command ccda benchmarks the C-CDA reader (platform/ccda): documents read
// per second over the C-CDA corpus, all held in memory, and the time to
// read one ~10 MB C-CDA made by repeating the result entries of a corpus
// document. run.sh runs it next to the Python reading of the same fields.
//
//	go run ./ccda -corpus ../testdata/corpus/ccda-peer -seconds 3
//	go run ./ccda -big /tmp/big.xml
package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/handoffmed/handoff/platform/ccda"
)

func main() {
	corpus := flag.String("corpus", "../testdata/corpus/ccda-peer", "C-CDA corpus folder")
	seconds := flag.Float64("seconds", 3, "how long to read the corpus over and over")
	big := flag.String("big", "", "write a ~10 MB C-CDA to this file and time reading it")
	stdxml := flag.Bool("stdxml", false, "time encoding/xml's tokenizer alone over the corpus instead")
	flag.Parse()
	var err error
	switch {
	case *big != "":
		err = runBig(*corpus, *big)
	case *stdxml:
		err = runStdXML(*corpus, time.Duration(*seconds*float64(time.Second)))
	default:
		err = runRate(*corpus, time.Duration(*seconds*float64(time.Second)))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/ccda:", err)
		os.Exit(1)
	}
}

func loadCorpus(dir string) ([][]byte, int64, error) {
	var docs [][]byte
	var size int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".xml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs = append(docs, b)
		size += int64(len(b))
		return nil
	})
	if err == nil && len(docs) == 0 {
		err = errors.New("no documents in " + dir)
	}
	return docs, size, err
}

// runRate prints the documents read per second.
func runRate(dir string, d time.Duration) error {
	docs, size, err := loadCorpus(dir)
	if err != nil {
		return err
	}
	n := 0
	cpu0 := cpuTime()
	start := time.Now()
	for time.Since(start) < d {
		for _, doc := range docs {
			if _, err := ccda.Read(bytes.NewReader(doc), ccda.Options{}); err != nil {
				return err
			}
			n++
		}
	}
	el := time.Since(start).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	fmt.Printf("go %d docs (%d bytes) read %d times in %.2fs: %.1f docs/s, %.1f MB/s; cpu %.2fs: %.1f docs/cpu-s\n",
		len(docs), size, n, el, float64(n)/el, float64(n)*float64(size)/float64(len(docs))/el/1e6, cpu, float64(n)/cpu)
	return nil
}

// cpuTime is the process's user and system CPU time (GC workers included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runStdXML prints the documents per second of encoding/xml's Token loop
// alone, reading nothing: the ceiling of a reader built on it.
func runStdXML(dir string, d time.Duration) error {
	docs, _, err := loadCorpus(dir)
	if err != nil {
		return err
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for _, doc := range docs {
			dec := xml.NewDecoder(bytes.NewReader(doc))
			for {
				_, err := dec.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
			}
			n++
		}
	}
	el := time.Since(start).Seconds()
	fmt.Printf("encoding/xml Token() alone over the %d docs: %.1f docs/s\n", len(docs), float64(n)/el)
	return nil
}

// runBig repeats the result entries of the Cerner referral summary until
// the document is about 10 MB, writes it and times reading it (median of 5).
func runBig(dir, out string) error {
	doc, err := os.ReadFile(filepath.Join(dir, "Cerner", "Transition_of_Care_Referral_Summary.xml"))
	if err != nil {
		return err
	}
	s := string(doc)
	sec := strings.Index(s, `<code code="30954-2"`)
	first := strings.Index(s[sec:], "<entry") + sec
	end := strings.Index(s[first:], "</section>") + first
	if sec < 0 || first < sec || end < first {
		return errors.New("no results section")
	}
	entries := s[first:end]
	var b strings.Builder
	b.WriteString(s[:end])
	for b.Len() < 10<<20 {
		b.WriteString(entries)
	}
	b.WriteString(s[end:])
	big := []byte(b.String())
	if err := os.WriteFile(out, big, 0o600); err != nil {
		return err
	}
	var times []time.Duration
	var results int
	for range 5 {
		start := time.Now()
		d, err := ccda.Read(bytes.NewReader(big), ccda.Options{})
		if err != nil {
			return err
		}
		times = append(times, time.Since(start))
		results = len(d.Results)
	}
	slices.Sort(times)
	fmt.Printf("go big C-CDA %d bytes, %d results: median %v (min %v, max %v) over 5 reads\n",
		len(big), results, times[2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[4].Round(time.Millisecond))
	return nil
}
