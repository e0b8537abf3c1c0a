package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/principal"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
)

func (s *Server) tooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, record.CodeTooLarge,
		fmt.Sprintf("this file is too large: files of at most %s are accepted", humanBytes(s.cfg.MaxUploadBytes)))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	if r.ContentLength > s.cfg.MaxUploadBytes {
		s.tooLarge(w)
		return
	}
	naming, ok := s.name(w, r, id, r.PathValue("file"))
	if !ok {
		return
	}
	key, warning := naming.Key, naming.Warning
	head := &ingest.Head{}
	body := &capped{r: io.TeeReader(r.Body, head), left: s.cfg.MaxUploadBytes}
	size := r.ContentLength
	if size < 0 {
		size = -1
	}
	ct := r.Header.Get("Content-Type")
	info, err := s.blobs.Put(r.Context(), s.cfg.IntakeBucket, key, body, size, blob.PutOptions{ContentType: ct})
	if body.over {
		s.tooLarge(w)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	f, err := s.ingest.Ingest(r.Context(), ingest.Object{Bucket: s.cfg.IntakeBucket, Key: key, ETag: info.ETag, Size: info.Size,
		Type: ingest.Sniffed(head.Bytes(), info.Size)},
		ingest.Origin{Source: record.SourceAPI, CaseID: id, Path: naming.Path})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if f, err = s.nameWarning(r, id, f, warning); err != nil {
		s.internal(w, r, err)
		return
	}
	noteAudit(r).object = f.ID
	writeJSON(w, http.StatusCreated, fileView(f))
}

// uploaderOf names a principal on the files it uploads.
func uploaderOf(p principal.Principal) string { return string(p.Kind) + ":" + p.ID }

// nameWarning records who uploaded the file and adds the warning about a
// cleaned name. The bucket notification may have recorded the file first,
// from its (already cleaned) key: both are the API's to add.
func (s *Server) nameWarning(r *http.Request, caseID string, f record.File, warning *record.Error) (record.File, error) {
	by := uploaderOf(who(r))
	return s.cases.UpdateFile(r.Context(), caseID, f.ID, func(f *record.File) error {
		changed := false
		if f.Uploader != by {
			f.Uploader, changed = by, true
		}
		if warning != nil && !slices.ContainsFunc(f.Warnings, func(w record.Error) bool { return w.Code == warning.Code }) {
			f.Warnings, changed = append(f.Warnings, *warning), true
		}
		if !changed {
			return casestore.ErrNoChange
		}
		return nil
	})
}

// capped fails a body that grows past its limit (chunked uploads have no
// Content-Length to check up front).
type capped struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		c.over = true
		return 0, errors.New("upload too large")
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return n, errors.New("upload too large")
	}
	return n, err
}

func (s *Server) presignUpload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	var in struct {
		Path string `json:"path"`
	}
	if err := decodeBody(r, &in); err != nil || in.Path == "" {
		writeError(w, http.StatusBadRequest, "request.invalid", `the body must be {"path": "folder/file.pdf"}`)
		return
	}
	naming, ok := s.name(w, r, id, in.Path)
	if !ok {
		return
	}
	key := naming.Key
	u, err := s.blobs.PresignPut(r.Context(), s.cfg.IntakeBucket, key, s.cfg.PresignExpiry)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	noteAudit(r).object = record.FileID(s.cfg.IntakeBucket, key)
	writeJSON(w, http.StatusOK, map[string]any{
		"url": u.String(), "method": http.MethodPut, "bucket": s.cfg.IntakeBucket, "key": key, "path": naming.Path,
		"file_id": record.FileID(s.cfg.IntakeBucket, key), "expires": time.Now().Add(s.cfg.PresignExpiry).UTC(),
	})
}

// maxParts is S3's limit on the parts of one upload.
const maxParts = 10000

// partSize is the part size of an upload of size bytes: the configured
// one, larger when the file would need more than maxParts parts.
func (s *Server) partSize(size int64) int64 {
	ps := s.cfg.PartSize
	if need := (size + maxParts - 1) / maxParts; need > ps {
		ps = (need + 1<<20 - 1) / (1 << 20) * (1 << 20)
	}
	return ps
}

// MultipartUpload is a started multipart upload: where each part goes and
// how large parts are (the last one may be smaller).
type MultipartUpload struct {
	UploadID string `json:"upload_id"`
	Path     string `json:"path"`
	FileID   string `json:"file_id"`
	Size     int64  `json:"size"`
	PartSize int64  `json:"part_size"`
	Parts    int    `json:"parts"`
}

type multipartInput struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type,omitempty"`
	UploadID    string `json:"upload_id,omitempty"`
	Numbers     []int  `json:"numbers,omitempty"`
}

// multipartTarget is where the multipart upload of in.Path goes (every
// call for the same path names it the same).
func (s *Server) multipartTarget(w http.ResponseWriter, r *http.Request, in *multipartInput) (caseID string, naming ingest.Naming, ok bool) {
	caseID, ok = s.caseID(w, r)
	if !ok {
		return "", naming, false
	}
	if in.Path == "" {
		writeError(w, http.StatusBadRequest, "request.invalid", "path is required: the file's path within the case (folders kept)")
		return "", naming, false
	}
	naming, ok = s.name(w, r, caseID, in.Path)
	return caseID, naming, ok
}

// multipartBody reads a multipart route's JSON body and names its upload.
func (s *Server) multipartBody(w http.ResponseWriter, r *http.Request) (in multipartInput, caseID string, naming ingest.Naming, ok bool) {
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return in, "", naming, false
	}
	caseID, naming, ok = s.multipartTarget(w, r, &in)
	return in, caseID, naming, ok
}

// name names an upload (ingest.NameUpload), answering 400 itself for a
// path that cannot be taken.
func (s *Server) name(w http.ResponseWriter, r *http.Request, caseID, raw string) (ingest.Naming, bool) {
	n, err := ingest.NameUpload(r.Context(), s.cases, caseID, raw)
	if errors.Is(err, ingest.ErrBadName) {
		writeError(w, http.StatusBadRequest, record.CodeBadName, strings.TrimPrefix(err.Error(), ingest.ErrBadName.Error()+": "))
		return n, false
	}
	if err != nil {
		s.internal(w, r, err)
		return n, false
	}
	return n, true
}

func (s *Server) uploadView(size, partSize int64, in multipartInput, key string) MultipartUpload {
	n := int((size + partSize - 1) / partSize)
	if n == 0 {
		n = 1
	}
	return MultipartUpload{UploadID: in.UploadID, Path: in.Path, FileID: record.FileID(s.cfg.IntakeBucket, key), Size: size, PartSize: partSize, Parts: n}
}

// createMultipart starts a multipart upload for {path, size}.
func (s *Server) createMultipart(w http.ResponseWriter, r *http.Request) {
	in, _, naming, ok := s.multipartBody(w, r)
	if !ok {
		return
	}
	key := naming.Key
	if in.Size < 0 {
		writeError(w, http.StatusBadRequest, "request.invalid", "size must be the file's size in bytes")
		return
	}
	if in.Size > s.cfg.MaxUploadBytes {
		s.tooLarge(w)
		return
	}
	if ct, _, err := mime.ParseMediaType(in.ContentType); in.ContentType != "" && err != nil {
		in.ContentType = ""
	} else {
		in.ContentType = ct
	}
	id, err := s.blobs.CreateMultipart(r.Context(), s.cfg.IntakeBucket, key, in.ContentType)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	in.UploadID = id
	writeJSON(w, http.StatusCreated, s.uploadView(in.Size, s.partSize(in.Size), in, key))
}

// listParts says which parts of an upload are stored (?path=&upload_id=):
// a client that lost its connection sends only the others.
func (s *Server) listParts(w http.ResponseWriter, r *http.Request) {
	in := multipartInput{Path: r.URL.Query().Get("path"), UploadID: r.URL.Query().Get("upload_id")}
	_, naming, ok := s.multipartTarget(w, r, &in)
	if !ok {
		return
	}
	key := naming.Key
	parts, err := s.blobs.Parts(r.Context(), s.cfg.IntakeBucket, key, in.UploadID)
	if s.uploadGone(w, err) {
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if parts == nil {
		parts = []blob.Part{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"upload_id": in.UploadID, "parts": parts})
}

func (s *Server) uploadGone(w http.ResponseWriter, err error) bool {
	if errors.Is(err, blob.ErrNoUpload) || errors.Is(err, blob.ErrNotFound) {
		writeError(w, http.StatusNotFound, "upload.not_found", "this upload is not in progress (completed, abandoned or never started); start it again")
		return true
	}
	return false
}

// PartURL is a presigned URL for one part.
type PartURL struct {
	Number int    `json:"number"`
	URL    string `json:"url"`
}

// presignParts hands out presigned URLs for parts {upload_id, path, numbers}.
func (s *Server) presignParts(w http.ResponseWriter, r *http.Request) {
	in, _, naming, ok := s.multipartBody(w, r)
	if !ok {
		return
	}
	key := naming.Key
	if in.UploadID == "" || len(in.Numbers) == 0 || len(in.Numbers) > 1000 {
		writeError(w, http.StatusBadRequest, "request.invalid", "upload_id and 1 to 1000 part numbers are required")
		return
	}
	out := make([]PartURL, 0, len(in.Numbers))
	for _, n := range in.Numbers {
		if n < 1 || n > maxParts {
			writeError(w, http.StatusBadRequest, "request.invalid", "part numbers run from 1 to 10000")
			return
		}
		u, err := s.blobs.PresignPart(r.Context(), s.cfg.IntakeBucket, key, in.UploadID, n, s.cfg.PresignExpiry)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		out = append(out, PartURL{Number: n, URL: u.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"upload_id": in.UploadID, "urls": out, "expires": time.Now().Add(s.cfg.PresignExpiry).UTC()})
}

// completeMultipart assembles an upload once every part is stored
// ({upload_id, path, size}) and records the file.
func (s *Server) completeMultipart(w http.ResponseWriter, r *http.Request) {
	in, caseID, naming, ok := s.multipartBody(w, r)
	if !ok {
		return
	}
	key := naming.Key
	ctx := r.Context()
	parts, err := s.blobs.Parts(ctx, s.cfg.IntakeBucket, key, in.UploadID)
	if s.uploadGone(w, err) {
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	var total int64
	for i, p := range parts {
		if p.Number != i+1 {
			writeError(w, http.StatusConflict, "upload.incomplete", fmt.Sprintf("part %d is missing; send it, then complete again", i+1))
			return
		}
		total += p.Size
	}
	if total > s.cfg.MaxUploadBytes {
		_ = s.blobs.AbortMultipart(ctx, s.cfg.IntakeBucket, key, in.UploadID)
		s.tooLarge(w)
		return
	}
	if len(parts) == 0 || total != in.Size {
		writeError(w, http.StatusConflict, "upload.incomplete", fmt.Sprintf("%d of %d bytes are stored; send the missing parts, then complete again", total, in.Size))
		return
	}
	info, err := s.blobs.CompleteMultipart(ctx, s.cfg.IntakeBucket, key, in.UploadID, parts)
	if s.uploadGone(w, err) {
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if info.Size == 0 {
		info.Size = total
	}
	f, err := s.ingest.Ingest(ctx, ingest.Object{Bucket: s.cfg.IntakeBucket, Key: key, ETag: info.ETag, Size: info.Size},
		ingest.Origin{Source: record.SourceAPI, CaseID: caseID, Path: naming.Path})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if f, err = s.nameWarning(r, caseID, f, naming.Warning); err != nil {
		s.internal(w, r, err)
		return
	}
	noteAudit(r).object = f.ID
	writeJSON(w, http.StatusCreated, fileView(f))
}

var contentTypes = map[string]string{
	record.TypePDF: "application/pdf", record.TypeJPEG: "image/jpeg", record.TypePNG: "image/png", record.TypeTIFF: "image/tiff",
	record.TypeZIP: "application/zip", record.TypeDICOM: "application/dicom", record.TypeDICOMDIR: "application/dicom",
	record.TypeText: "text/plain; charset=utf-8", "": "application/octet-stream", record.TypeUnknown: "application/octet-stream",
}

// getFile sends an uploaded original (or an archive entry) as it was
// uploaded, under its own file name.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	fid := r.PathValue("file")
	if !record.ValidID(fid) {
		writeError(w, http.StatusNotFound, "file.not_found", "no such file in this case")
		return
	}
	f, err := s.cases.File(r.Context(), c.ID, fid)
	if errors.Is(err, casestore.ErrNotFound) {
		writeError(w, http.StatusNotFound, "file.not_found", "no such file in this case")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	body, info, err := s.blobs.Get(r.Context(), f.Bucket, f.Key)
	if errors.Is(err, blob.ErrNotFound) {
		writeError(w, http.StatusNotFound, "file.not_found", "the file's bytes are no longer stored")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	defer body.Close()
	name := path.Base(f.Path)
	if name == "" || name == "." || name == "/" {
		name = f.ID
	}
	// The type comes from the sniffed content, never from what the uploader
	// said: a page must not be served from the API's origin.
	w.Header().Set("Content-Type", contentTypes[f.Type])
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, body)
}
