// Package engine makes scanned PDFs and photos searchable: it decides per
// page, takes page images, runs Tesseract on a pool of single-threaded
// engines, and grafts the text layer onto the original pages.
package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/ocr/internal/deskew"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
	"github.com/handoffmed/handoff/services/ocr/internal/orient"
	"github.com/handoffmed/handoff/services/ocr/internal/render"
	"github.com/handoffmed/handoff/services/ocr/internal/tess"
	"github.com/handoffmed/handoff/services/ocr/internal/textpdf"
)

// Options of the engine. The zero value of each field means its default.
type Options struct {
	Jobs          int           // pages recognised at once (default: number of CPUs)
	Languages     string        // Tesseract languages, "eng+fra" (default "eng")
	MaxPages      int           // page-count cap (default 2000)
	MaxPagePixels int64         // pixels of one page image given to Tesseract (default 40 MP)
	MinDPI        float64       // a page that must go below this to fit MaxPagePixels is too large (default 100)
	PageTimeout   time.Duration // time for one page (default 3 min)
	DPI           float64       // resolution of rendered pages (default 300)
	// PageParts is how many bands an upright page may be cut into, at blank
	// rows, to be recognised on that many engines at once: for documents
	// with fewer pages than jobs (default 1: never cut).
	PageParts int
}

// WithDefaults fills in defaults.
func (o Options) WithDefaults() Options {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Languages == "" {
		o.Languages = "eng"
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 2000
	}
	if o.MaxPagePixels <= 0 {
		o.MaxPagePixels = 40_000_000
	}
	if o.MinDPI <= 0 {
		o.MinDPI = 100
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = 3 * time.Minute
	}
	if o.DPI <= 0 {
		o.DPI = 300
	}
	if o.PageParts <= 0 {
		o.PageParts = 1
	}
	return o
}

// PageResult is what became of one page.
type PageResult struct {
	Number     int // 1-based
	Kind       inspect.Kind
	OCRed      bool
	Turn       int     // clockwise degrees added to the page's rotation
	Skew       float64 // degrees
	DPI        float64 // resolution the page was taken at
	Confidence float64 // 0..100, -1 when not OCRed
	Text       string  // OCR text (empty for pages not OCRed)
	Layer      textpdf.Page
	Err        *record.Error // the page could not be OCRed; it is left as it was
	// Layout is the OCRed page's words with their boxes, for the layout
	// sidecar (empty for pages not OCRed).
	Layout textlayout.Page
}

// Errorf makes a record error.
func Errorf(code, format string, args ...any) *record.Error {
	return &record.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Pool is a set of Tesseract engines, one per job, each loaded once.
type Pool struct {
	langs string
	slots chan *tess.Engine
	mu    sync.Mutex
	all   []*tess.Engine
	wg    sync.WaitGroup // recognitions abandoned after a timeout
}

// NewPool makes a pool of n engines for langs (loaded on first use).
func NewPool(langs string, n int) (*Pool, error) {
	if n <= 0 {
		n = 1
	}
	p := &Pool{langs: langs, slots: make(chan *tess.Engine, n)}
	for range n {
		p.slots <- nil // created lazily
	}
	return p, nil
}

func (p *Pool) get(ctx context.Context) (*tess.Engine, error) {
	select {
	case e := <-p.slots:
		if e != nil {
			return e, nil
		}
		e, err := tess.New(p.langs)
		if err != nil {
			p.slots <- nil
			return nil, err
		}
		p.mu.Lock()
		p.all = append(p.all, e)
		p.mu.Unlock()
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) put(e *tess.Engine) { p.slots <- e }

// Close frees every engine; it waits for abandoned recognitions.
func (p *Pool) Close() error {
	p.wg.Wait()
	var errs []error
	for range cap(p.slots) {
		if e := <-p.slots; e != nil {
			errs = append(errs, e.Close())
		}
	}
	return errors.Join(errs...)
}

// recognize runs one recognition within ctx. Tesseract cannot be stopped
// midway: on timeout the engine finishes in the background, is closed, and
// its slot gets a fresh engine.
func (p *Pool) recognize(ctx context.Context, pgm []byte, dpi int, osd bool) (tess.Page, error) {
	e, err := p.get(ctx)
	if err != nil {
		return tess.Page{}, err
	}
	type res struct {
		pg  tess.Page
		err error
	}
	done := make(chan res, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pg, err := e.Recognize(pgm, dpi, osd)
		done <- res{pg, err}
	}()
	select {
	case r := <-done:
		p.put(e)
		return r.pg, r.err
	case <-ctx.Done():
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			<-done
			_ = e.Close()
		}()
		p.put(nil)
		return tess.Page{}, ctx.Err()
	}
}

// PageDPI is the resolution a page is taken at: its scan's own resolution
// when the page is one scan of a usual resolution (so its pixels are the
// scan's pixels), else opt.DPI; lowered to fit MaxPagePixels.
func PageDPI(p inspect.Page, opt Options) (float64, *record.Error) {
	dpi := opt.DPI
	if p.ScanDPI >= 200 && p.ScanDPI <= 400 {
		dpi = p.ScanDPI
	}
	limit := opt.MaxPagePixels
	if p.MaxImagePixels > 4*limit {
		return 0, Errorf(record.CodePageTooLarge, "page %d: an image of %d megapixels is over the cap of %d",
			p.Number, p.MaxImagePixels/1_000_000, 4*limit/1_000_000)
	}
	w, h := p.DisplaySize()
	px := (w * dpi / 72) * (h * dpi / 72)
	if px > float64(limit) {
		dpi *= math.Sqrt(float64(limit) / px)
		dpi = math.Floor(dpi*100) / 100
		if dpi < opt.MinDPI {
			return 0, Errorf(record.CodePageTooLarge, "page %d: %.0f megapixels at %.0f dpi, over the cap of %d",
				p.Number, px/1e6, opt.MinDPI, limit/1_000_000)
		}
	}
	return dpi, nil
}

// OCRPage takes page p of the PDF at path and recognises it.
func (p *Pool) OCRPage(ctx context.Context, path string, pg inspect.Page, opt Options) PageResult {
	opt = opt.WithDefaults()
	r := PageResult{Number: pg.Number, Kind: pg.Kind, Confidence: -1}
	dpi, perr := PageDPI(pg, opt)
	if perr != nil {
		r.Err = perr
		return r
	}
	r.DPI = dpi
	ctx, cancel := context.WithTimeout(ctx, opt.PageTimeout)
	defer cancel()
	img, err := render.Page(ctx, path, pg.Number, dpi)
	if err != nil {
		r.Err = pageErr(ctx, pg.Number, "render", err)
		return r
	}
	w, h := pg.DisplaySize()
	return p.recognizeImage(ctx, img, r, w, h, opt.PageParts)
}

// recognizeImage deskews img, recognises it and lays out its text layer on a
// page shown w×h points.
func (p *Pool) recognizeImage(ctx context.Context, img *image.Gray, r PageResult, w, h float64, parts int) PageResult {
	b := img.Bounds()
	if int64(b.Dx())*int64(b.Dy()) == 0 {
		r.Err = Errorf(record.CodeUnreadable, "page %d: empty image", r.Number)
		return r
	}
	bilevel := render.Bilevel(img)
	r.Skew = deskew.Find(img)
	if math.Abs(r.Skew) >= 0.1 {
		img = deskew.Rotate(img, r.Skew)
	} else {
		r.Skew = 0
	}
	dpi := r.DPI
	if dpi <= 0 {
		dpi = float64(b.Dx()) / (w / 72)
	}
	encoded := render.PGM
	if bilevel {
		encoded = render.PBM
	}
	idpi := int(math.Round(dpi))
	// Orientation: our own detector when it is sure (the image is turned
	// upright in memory and Tesseract skips its orientation pass), else,
	// or when the upright reading comes out poor, Tesseract's detection
	// during recognition.
	var (
		tp   tess.Page
		geo  Geometry
		err  error
		done bool
	)
	if o := orient.Detect(img); o.Sure {
		up := orient.Turn(img, o.Turn)
		tp, err = p.recognizeBands(ctx, up, parts, encoded, idpi)
		if err != nil {
			r.Err = pageErr(ctx, r.Number, "recognize", err)
			return r
		}
		if !poor(tp) {
			r.Turn, done = o.Turn, true
			ub := up.Bounds()
			geo = Geometry{W: ub.Dx(), H: ub.Dy(), Skew: r.Skew}
		}
	}
	if !done {
		tp, err = p.recognize(ctx, encoded(img), idpi, true)
		if err != nil {
			r.Err = pageErr(ctx, r.Number, "recognize", err)
			return r
		}
		r.Turn = tp.Orientation()
		geo = Geometry{W: b.Dx(), H: b.Dy(), Skew: r.Skew, Turn: r.Turn}
	}
	r.OCRed = true
	pw, ph := w, h
	if r.Turn == 90 || r.Turn == 270 {
		pw, ph = h, w
	}
	// Lines turned differently from the page are rare (a sideways caption);
	// they are laid out with the page's turn, which keeps them searchable.
	geo.PageW, geo.PageH = pw, ph
	r.Layer = Layout(tp, geo)
	r.Layout = layoutPage(r.Number, tp, r.Layer)
	r.Text = tp.Text()
	r.Confidence = math.Round(tp.Confidence()*10) / 10
	return r
}

// recognizeBands recognises an upright image cut into up to parts bands at
// blank rows, the bands at once on as many engines, and puts the results
// back together.
func (p *Pool) recognizeBands(ctx context.Context, img *image.Gray, parts int, encode func(*image.Gray) []byte, dpi int) (tess.Page, error) {
	cuts := bandCuts(img, parts)
	if len(cuts) == 0 {
		return p.recognize(ctx, encode(img), dpi, false)
	}
	b := img.Bounds()
	edges := append(append([]int{b.Min.Y}, cuts...), b.Max.Y)
	pages := make([]tess.Page, len(edges)-1)
	errs := make([]error, len(edges)-1)
	var wg sync.WaitGroup
	for i := range pages {
		sub := img.SubImage(image.Rect(b.Min.X, edges[i], b.Max.X, edges[i+1])).(*image.Gray)
		wg.Go(func() { pages[i], errs[i] = p.recognize(ctx, encode(sub), dpi, false) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return tess.Page{}, err
	}
	out := tess.Page{Width: b.Dx(), Height: b.Dy()}
	par := 0
	for i, pg := range pages {
		dy := edges[i] - b.Min.Y
		top := par
		for _, l := range pg.Lines {
			l.Box = l.Box.Add(image.Pt(0, dy))
			words := make([]tess.Word, len(l.Words))
			for k, w := range l.Words {
				w.Box = w.Box.Add(image.Pt(0, dy))
				words[k] = w
			}
			l.Words = words
			l.Par += top
			par = max(par, l.Par)
			out.Lines = append(out.Lines, l)
		}
	}
	return out, nil
}

// bandCuts finds up to parts-1 rows at which img can be cut between text
// lines: the middle of the longest blank run near each even split.
func bandCuts(img *image.Gray, parts int) []int {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if parts < 2 || h < 600 {
		return nil
	}
	noise := max(2, w/500)
	blank := make([]bool, h)
	for y := range h {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
		dark := 0
		for x := 0; x < w; x += 2 {
			if row[x] < 128 {
				dark++
			}
		}
		blank[y] = dark <= noise
	}
	var cuts []int
	for k := 1; k < parts; k++ {
		target := h * k / parts
		lo, hi := max(target-h*3/20, 1), min(target+h*3/20, h-1)
		best, bestLen, bestDist := -1, 0, 0
		for y := lo; y < hi; {
			if !blank[y] {
				y++
				continue
			}
			e := y
			for e < hi && blank[e] {
				e++
			}
			mid := (y + e) / 2
			d := abs(mid - target)
			if e-y >= 4 && (e-y > bestLen || e-y == bestLen && d < bestDist) {
				best, bestLen, bestDist = mid, e-y, d
			}
			y = e
		}
		if best > 0 && (len(cuts) == 0 || best-cuts[len(cuts)-1] > h/(2*parts)) {
			cuts = append(cuts, b.Min.Y+best)
		}
	}
	return cuts
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// poor says a reading of an image believed upright looks wrong: many words
// read with low confidence, as text upside down or sideways reads.
func poor(tp tess.Page) bool {
	words := 0
	for _, l := range tp.Lines {
		words += len(l.Words)
	}
	return words >= 10 && tp.Confidence() < 50
}

func pageErr(ctx context.Context, page int, step string, err error) *record.Error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Errorf(record.CodeTimeout, "page %d: %s took longer than the time cap", page, step)
	}
	if ctx.Err() != nil {
		return Errorf("canceled", "page %d: %s canceled", page, step)
	}
	return Errorf(record.CodeUnreadable, "page %d: %s: %v", page, step, err)
}
