package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// On ext4 without a journal (this machine's disk) the inode allocator
// skips, one by one, the free inodes of a block group that were deleted in
// the last minute, or in the last six while their inode table block is
// dirty. A bench run deletes its tens of thousands of files when it ends,
// so a run started soon after another allocates every object's inode past
// them: a file creation takes about 1 ms instead of about 30 µs, and both
// kinds of PUT crawl alike (a ratio near 1 that says nothing).
const (
	// slowCreate is a file creation that says the filesystem is in that state.
	slowCreate = 150 * time.Microsecond
	// settleMax bounds the wait for it to pass.
	settleMax = 8 * time.Minute
	// probeFiles is how many files one probe creates.
	probeFiles = 20
)

// settle waits until creating a file where the embedded S3 endpoint stages
// each object (versitygw's posix backend: <bucket>/.sgwtmp) takes its usual
// time, and returns what the last probe measured. The probe's files are
// moved out of the way and kept until the run's data is removed: deleting
// them would leave recently deleted inodes of its own.
//
// A probe reaches the first inodes the allocator hands out, so it catches
// a run started right after another, not every later slowdown: the
// serve process's CPU time per plain PUT (about 500 µs here) shows those.
func settle(data string) (time.Duration, error) {
	stage := filepath.Join(data, "s3", record.DefaultIntakeBucket, ".sgwtmp")
	keep := filepath.Join(data, "fs-probe")
	for _, d := range []string{stage, keep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	deadline := time.Now().Add(settleMax)
	for round := 0; ; round++ {
		// Written-back inode table blocks keep the window to a minute.
		syscall.Sync()
		per, err := probe(stage, keep, round)
		switch {
		case err != nil:
			return 0, err
		case per < slowCreate:
			return per, nil
		case time.Now().After(deadline):
			return per, fmt.Errorf("creating a file still takes %v after %v: the figures would measure the filesystem", per, settleMax)
		}
		fmt.Fprintf(os.Stderr, "bench intake: creating a file takes %v here (about 30µs when settled): the filesystem still skips a previous run's deleted inodes; waiting\n", per.Round(time.Microsecond))
		time.Sleep(15 * time.Second)
	}
}

// probe times the creation of probeFiles files in stage, then keeps them in keep.
func probe(stage, keep string, round int) (time.Duration, error) {
	start := time.Now()
	for i := range probeFiles {
		name := fmt.Sprintf("%d-%d", round, i)
		f, err := os.Create(filepath.Join(stage, name))
		if err != nil {
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(keep, name)); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / probeFiles, nil
}
