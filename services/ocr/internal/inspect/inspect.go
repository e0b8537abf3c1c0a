// Package inspect reads a PDF's pages and decides, for each, whether it
// already carries text, already has an OCR layer, or is an image to OCR, and
// at which resolution its image should be taken.
//
// Parsing uses pdfcpu (pure Go, in process) for the object model and
// decryption, and a tolerant content-stream scanner of our own. Everything
// here takes untrusted bytes: it never panics (panics inside pdfcpu are
// recovered and reported as ErrUnreadable) and its work is bounded by Limits.
package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Errors callers branch on.
var (
	// ErrEncrypted means the PDF needs a user password to open.
	ErrEncrypted = errors.New("pdf needs a password")
	// ErrUnreadable means the PDF cannot be parsed.
	ErrUnreadable = errors.New("pdf is unreadable")
	// ErrTooManyPages means the page count is over the cap.
	ErrTooManyPages = errors.New("too many pages")
)

// Kind is what a page holds.
type Kind int

// Page kinds.
const (
	KindImage    Kind = iota // an image (scan) to OCR
	KindText                 // real text: kept as it is
	KindOCRLayer             // an image with an invisible text layer already: never OCRed twice
)

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindOCRLayer:
		return "ocr-layer"
	default:
		return "image"
	}
}

// Page is what inspection learned about one page.
type Page struct {
	Number   int // 1-based
	MediaBox Rect
	CropBox  Rect // the visible area (MediaBox when absent), clipped to MediaBox
	Rotate   int  // 0, 90, 180 or 270
	Kind     Kind
	Stats    Stats
	// Coverage is the fraction of the crop box covered by images.
	Coverage float64
	// ScanDPI is the resolution of the page's one scan (> 0 when the page is
	// one image filling the page, placed without rotation or shear): the page
	// is taken at that resolution so that its pixels are the scan's pixels.
	ScanDPI float64
	// MaxImagePixels is the largest pixel count of an image drawn on the page.
	MaxImagePixels int64
}

// DisplaySize is the page's size in points as it is shown (after /Rotate).
func (p Page) DisplaySize() (w, h float64) {
	w, h = p.CropBox.Width(), p.CropBox.Height()
	if p.Rotate == 90 || p.Rotate == 270 {
		return h, w
	}
	return w, h
}

// Document is an inspected PDF.
type Document struct {
	Pages     []Page
	Encrypted bool // encrypted with an owner password only (opens without one)
}

// Options tune inspection.
type Options struct {
	MaxPages int // 0: no cap
	Limits   Limits
}

var disableConfig sync.Once

// Inspect reads a whole PDF from data.
func Inspect(data []byte, opt Options) (doc *Document, err error) {
	disableConfig.Do(api.DisableConfigDir) // no config files, no user fonts
	if opt.Limits == (Limits{}) {
		opt.Limits = DefaultLimits
	}
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%w: parser panic", ErrUnreadable)
		}
	}()
	if !bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-")) {
		return nil, fmt.Errorf("%w: no PDF header", ErrUnreadable)
	}
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(bytes.NewReader(data), conf)
	if err != nil {
		if errors.Is(err, pdfcpu.ErrWrongPassword) || strings.Contains(err.Error(), "password") {
			return nil, fmt.Errorf("%w", ErrEncrypted)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("%w: page tree: %w", ErrUnreadable, err)
	}
	n := ctx.PageCount
	if n <= 0 {
		return nil, fmt.Errorf("%w: no pages", ErrUnreadable)
	}
	if opt.MaxPages > 0 && n > opt.MaxPages {
		return nil, fmt.Errorf("%w: %d pages, the cap is %d", ErrTooManyPages, n, opt.MaxPages)
	}
	doc = &Document{Encrypted: ctx.Encrypt != nil}
	budget := opt.Limits
	for i := 1; i <= n; i++ {
		p, err := page(ctx, i, budget)
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrUnreadable, i, err)
		}
		doc.Pages = append(doc.Pages, p)
	}
	return doc, nil
}

func page(ctx *model.Context, n int, lim Limits) (Page, error) {
	d, _, inh, err := ctx.PageDict(n, false)
	if err != nil {
		return Page{}, err
	}
	if d == nil || inh == nil {
		return Page{}, errors.New("missing page")
	}
	p := Page{Number: n, Rotate: ((inh.Rotate % 360) + 360) % 360}
	if p.Rotate%90 != 0 {
		p.Rotate = 0
	}
	if inh.MediaBox == nil {
		p.MediaBox = Rect{0, 0, 612, 792}
	} else {
		p.MediaBox = rect(inh.MediaBox)
	}
	p.CropBox = p.MediaBox
	if inh.CropBox != nil {
		if c := rect(inh.CropBox).Intersect(p.MediaBox); c.Area() > 0 {
			p.CropBox = c
		}
	}
	if p.CropBox.Area() <= 0 || p.CropBox.Width() > 200*72*100 || p.CropBox.Height() > 200*72*100 {
		return Page{}, errors.New("bad page box")
	}
	content, err := ctx.PageContent(d, n)
	if err != nil && !errors.Is(err, model.ErrNoContent) {
		return Page{}, fmt.Errorf("content: %w", err)
	}
	res := &resolver{ctx: ctx, res: inh.Resources, seen: map[int]bool{}}
	p.Stats = Scan(content, res, Identity, lim)
	classify(&p)
	return p, nil
}

func rect(r *types.Rectangle) Rect {
	return Rect{
		math.Min(r.LL.X, r.UR.X), math.Min(r.LL.Y, r.UR.Y),
		math.Max(r.LL.X, r.UR.X), math.Max(r.LL.Y, r.UR.Y),
	}
}

// Thresholds of the per-page decision.
const (
	// realTextChars is the shown text above which a page has real text
	// whatever images it also has (a scan's stray text objects, a page
	// number or a stamp, stay well below it).
	realTextChars = 200
	// someTextChars is enough text for a page without a large image.
	someTextChars = 20
	// scanCoverage is the image coverage from which a page is a scan.
	scanCoverage = 0.5
	// fillCoverage is the coverage from which a page's one image fills it.
	fillCoverage = 0.9
)

// classify decides a page's Kind and its scan resolution.
func classify(p *Page) {
	crop := p.CropBox
	area := crop.Area()
	var covered float64
	for _, im := range p.Stats.Images {
		covered += im.Box.Intersect(crop).Area()
		p.MaxImagePixels = max(p.MaxImagePixels, int64(im.Width)*int64(im.Height))
	}
	p.Coverage = math.Min(1, covered/area)
	st := p.Stats
	switch {
	case st.InvisibleChars >= someTextChars && len(st.Images) > 0:
		p.Kind = KindOCRLayer
	case st.VisibleChars >= realTextChars:
		p.Kind = KindText
	case st.VisibleChars >= someTextChars && p.Coverage < scanCoverage:
		p.Kind = KindText
	default:
		p.Kind = KindImage
	}
	// Images large enough to matter (ignore tiny logos and stamps).
	var big []Placed
	for _, im := range st.Images {
		if im.Box.Intersect(crop).Area() >= 0.05*area {
			big = append(big, im)
		}
	}
	if len(big) == 1 && big[0].Axis && p.Coverage >= fillCoverage && big[0].Width > 0 && big[0].Height > 0 {
		im := big[0]
		w, h := float64(im.Width), float64(im.Height)
		// With a quarter-turn placement the image's rows run along the page's y axis.
		if math.Abs(im.CTM[0]) < math.Abs(im.CTM[1]) {
			w, h = h, w
		}
		dx := w / (im.Box.Width() / 72)
		dy := h / (im.Box.Height() / 72)
		if dx > 0 && dy > 0 && math.Abs(dx-dy)/math.Max(dx, dy) < 0.02 {
			p.ScanDPI = math.Round(math.Max(dx, dy)*100) / 100
		}
	}
}

// resolver finds XObjects in a resource dictionary.
type resolver struct {
	ctx  *model.Context
	res  types.Dict
	seen map[int]bool // forms on the current path, against cycles
}

func (r *resolver) XObject(name string) (XObject, bool) {
	if r.res == nil {
		return XObject{}, false
	}
	xo, err := r.ctx.DereferenceDict(r.res["XObject"])
	if err != nil || xo == nil {
		return XObject{}, false
	}
	entry, ok := xo[name]
	if !ok {
		return XObject{}, false
	}
	ref := ""
	objNr := -1
	if ir, ok := entry.(types.IndirectRef); ok {
		objNr = ir.ObjectNumber.Value()
		ref = ir.ObjectNumber.String()
	}
	sd, _, err := r.ctx.DereferenceStreamDict(entry)
	if err != nil || sd == nil {
		return XObject{}, false
	}
	sub := sd.Subtype()
	if sub == nil {
		return XObject{}, false
	}
	switch *sub {
	case "Image":
		w := intOf(r.ctx, sd.Dict["Width"])
		h := intOf(r.ctx, sd.Dict["Height"])
		return XObject{Kind: "image", Width: w, Height: h, Ref: ref}, true
	case "Form":
		if objNr >= 0 && r.seen[objNr] {
			return XObject{}, false
		}
		if err := sd.Decode(); err != nil {
			return XObject{}, false
		}
		m := Identity
		if a, err := r.ctx.DereferenceArray(sd.Dict["Matrix"]); err == nil && len(a) == 6 {
			for i, o := range a {
				f, err := r.ctx.DereferenceNumber(o)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					m = Identity
					break
				}
				m[i] = f
			}
		}
		sub := &resolver{ctx: r.ctx, res: r.res, seen: map[int]bool{}}
		for k, v := range r.seen {
			sub.seen[k] = v
		}
		if objNr >= 0 {
			sub.seen[objNr] = true
		}
		if fr, err := r.ctx.DereferenceDict(sd.Dict["Resources"]); err == nil && fr != nil {
			sub.res = fr
		}
		return XObject{Kind: "form", Matrix: m, Content: sd.Content, Resources: sub}, true
	}
	return XObject{}, false
}

func intOf(ctx *model.Context, o types.Object) int {
	f, err := ctx.DereferenceNumber(o)
	if err != nil || f < 0 || f > 1<<30 || math.IsNaN(f) {
		return 0
	}
	return int(f)
}
