package understand

import (
	"slices"

	"github.com/handoffmed/handoff/services/intake/internal/table"
)

// docTables are the tables of a document, page by page, and its pages'
// text with each table row on one line.
type docTables struct {
	pages  []string
	tables []pageTable
}

// pageTable is a table and the page it is on (0-based).
type pageTable struct {
	page int
	t    table.Table
}

// readTables reads the tables of every page the layout has. A page with a
// table gets the table's rendering for its text (cells separated by
// table.Sep, a row per line); a page without keeps its text as the source
// gave it.
func readTables(in Input) docTables {
	out := docTables{pages: in.Pages}
	if in.Layout == nil {
		return out
	}
	for i := range in.Pages {
		lp, ok := in.Layout.Page(i + 1)
		if !ok {
			continue
		}
		r := table.Read(lp)
		if len(r.Tables) == 0 {
			continue
		}
		if len(out.tables) == 0 {
			out.pages = slices.Clone(in.Pages)
		}
		out.pages[i] = r.Text
		for _, t := range r.Tables {
			out.tables = append(out.tables, pageTable{page: i, t: t})
		}
	}
	return out
}
