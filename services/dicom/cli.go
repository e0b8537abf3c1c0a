package dicom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// IndexCommand options.
type IndexCommandOptions struct {
	JSON    bool // print the index as JSON instead of a table
	Stats   bool // print files, bytes read and time to stderr
	Workers int
}

// IndexCommand is `handoff dicom index [--json] PATH…`: it indexes the files
// and prints the index (JSON or a readable table) to stdout. Files that
// cannot be indexed are listed with their reason; they do not fail the command.
func IndexCommand(ctx context.Context, paths []string, opt IndexCommandOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	li, err := IndexLocal(ctx, paths, LocalOptions{Workers: opt.Workers})
	if err != nil {
		return err
	}
	el := time.Since(start)
	if opt.JSON {
		out := struct {
			Index      any          `json:"index"`
			Unreadable []cliProblem `json:"unreadable,omitempty"`
		}{li.Index, problems(li)}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write index: %w", err)
		}
	} else if err := printTable(stdout, li); err != nil {
		return err
	}
	if opt.Stats {
		n := int64(len(li.Files))
		fmt.Fprintf(stderr, "handoff-dicom files=%d indexed=%d failed=%d bytes=%d bytes_read=%d bytes_read_per_file=%d max_read_ahead=%d seconds=%.3f files_per_s=%.1f MB_per_s=%.1f\n",
			n, len(li.Instances), len(li.Index.Unreadable), li.Bytes, li.BytesRead, li.BytesRead/max(n, 1), li.MaxReadAhead,
			el.Seconds(), float64(n)/el.Seconds(), float64(li.Bytes)/1e6/el.Seconds())
	}
	return nil
}

type cliProblem struct {
	Path    string `json:"path"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func problems(li *LocalIndex) []cliProblem {
	var out []cliProblem
	for _, f := range li.Files {
		if f.Err == nil {
			continue
		}
		p := cliProblem{Path: f.Path, Message: f.Err.Error()}
		if re, ok := asRecordError(f.Err); ok {
			p.Code, p.Message = re.Code, re.Message
		}
		out = append(out, p)
	}
	return out
}

func printTable(w io.Writer, li *LocalIndex) error {
	for _, st := range li.Index.Studies {
		fmt.Fprintf(w, "%s  (study %s, patient %s)\n", st.Folder, st.UID, strings.TrimSpace(st.PatientName+" "+st.PatientID))
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  series\tmodality\tbody part\tdescription\tinstances\tframes\n")
		for _, se := range st.Series {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\t%d\n", se.Number, se.Modality, strings.TrimSpace(se.Laterality+" "+se.BodyPart), se.Description, se.Instances, se.Frames)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	for _, f := range li.Index.Findings {
		fmt.Fprintf(w, "%s %s: %s\n", strings.ToUpper(f.Severity), f.Code, f.Message)
	}
	for _, p := range problems(li) {
		fmt.Fprintf(w, "UNREADABLE %s: %s (%s)\n", p.Path, p.Message, p.Code)
	}
	fmt.Fprintf(w, "%d files, %d instances in %d studies, %d unreadable\n", len(li.Files), len(li.Instances), len(li.Index.Studies), len(li.Index.Unreadable))
	return nil
}

// FileSetCommand is `handoff dicom fileset DIR OUT`: it indexes DIR and
// writes one file-set per study into OUT/<scan folder>/ (a DICOMDIR and the
// instances under DICOM/), rewriting instances without a Part 10 header.
func FileSetCommand(ctx context.Context, dir, out string, stdout io.Writer) error {
	li, err := IndexLocal(ctx, []string{dir}, LocalOptions{})
	if err != nil {
		return err
	}
	if len(li.Index.Studies) == 0 {
		return fmt.Errorf("no DICOM instances under %s", dir)
	}
	for _, st := range li.Index.Studies {
		plan, err := PlanFileSet(st, li.Instances)
		if err != nil {
			return err
		}
		root := filepath.Join(out, st.Folder)
		if err := WritePlan(ctx, root, plan, openLocal); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d instances\n", root, len(plan.Members))
	}
	return nil
}

func openLocal(_ context.Context, m FileSetMember) (io.ReadCloser, error) {
	return os.Open(m.Ref.Key)
}

// WritePlan writes a planned file-set into the folder root: DICOMDIR and
// every member at its path, normalised to Part 10 when needed.
func WritePlan(ctx context.Context, root string, plan *FileSetPlan, open func(context.Context, FileSetMember) (io.ReadCloser, error)) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("file-set: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "DICOMDIR"), plan.DICOMDIR, 0o644); err != nil {
		return fmt.Errorf("file-set: %w", err)
	}
	for _, m := range plan.Members {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeMember(ctx, root, m, open); err != nil {
			return err
		}
	}
	return nil
}

func writeMember(ctx context.Context, root string, m FileSetMember, open func(context.Context, FileSetMember) (io.ReadCloser, error)) error {
	dst := filepath.Join(root, filepath.FromSlash(m.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("file-set: %w", err)
	}
	src, err := open(ctx, m)
	if err != nil {
		return fmt.Errorf("file-set: open %s: %w", m.Ref.FileID, err)
	}
	defer src.Close()
	r, err := Part10(m.Instance, src)
	if err != nil {
		return fmt.Errorf("file-set: %s: %w", m.Ref.FileID, err)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("file-set: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("file-set: copy %s: %w", m.Ref.FileID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("file-set: %w", err)
	}
	return nil
}
