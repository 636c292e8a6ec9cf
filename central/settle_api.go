package central

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/pay"
	"github.com/tixgate/tixgate/central/settle"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

// Reconciliation with the providers' settlement files (package
// central/settle), for finance:
//
//	POST /api/v1/settlement/runs              {"provider": "alipay", "day": "2026-12-01"}: fetch and compare
//	POST /api/v1/settlement/runs?provider=…&day=… with the file as the body: compare an uploaded file
//	GET  /api/v1/settlement/runs?provider=…&day=…
//	GET  /api/v1/settlement/items?provider=…&day=…&open=1[&format=csv]
//	POST /api/v1/settlement/items/{id}/resolve {"note": "…"}
func (s *Server) settleRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/settlement/runs", s.ops("box_office", s.settleRun))
	m.HandleFunc("GET /api/v1/settlement/runs", s.ops("read", s.settleRuns))
	m.HandleFunc("GET /api/v1/settlement/items", s.ops("read", s.settleItems))
	m.HandleFunc("POST /api/v1/settlement/items/{id}/resolve", s.ops("box_office", s.settleResolve))
}

// maxUpload is the largest settlement file taken as an upload.
const maxUpload = 256 << 20

// SettleRunView is a run as the API shows it.
type SettleRunView struct {
	ID            int64  `json:"id"`
	Provider      string `json:"provider"`
	Day           string `json:"day"`
	At            string `json:"at"`
	By            string `json:"by"`
	Source        string `json:"source"`
	FileSHA256    string `json:"file_sha256"`
	Lines         int64  `json:"lines"`
	Matched       int64  `json:"matched"`
	MissingOurs   int64  `json:"missing_ours"`
	MissingTheirs int64  `json:"missing_theirs"`
	AmountDiffers int64  `json:"amount_differs"`
	Fees          int64  `json:"fees"` // minor units
}

func runView(r store.SettleRun) SettleRunView {
	return SettleRunView{r.ID, r.Provider, r.Day, r.At.UTC().Format(time.RFC3339), r.By, r.Source, r.FileSHA256, r.Lines, r.Matched,
		r.MissingOurs, r.MissingTheirs, r.AmountDiffers, r.Fees}
}

// SettleItemView is an item as the API shows it.
type SettleItemView struct {
	ID          int64  `json:"id"`
	Run         int64  `json:"run"`
	Provider    string `json:"provider"`
	Day         string `json:"day"`
	Status      string `json:"status"`
	Kind        string `json:"kind"`
	Reference   string `json:"reference"`
	Order       int64  `json:"order,omitempty"`
	OurAmount   int64  `json:"our_amount"`
	TheirAmount int64  `json:"their_amount"`
	Currency    string `json:"currency"`
	At          string `json:"at"`
	Resolved    string `json:"resolved,omitempty"`
	ResolvedBy  string `json:"resolved_by,omitempty"`
	Note        string `json:"note,omitempty"`
}

func itemView(it store.SettleItem) SettleItemView {
	v := SettleItemView{ID: it.ID, Run: it.Run, Provider: it.Provider, Day: it.Day, Status: it.Status, Kind: it.Kind, Reference: it.Reference,
		Order: it.Order, OurAmount: it.OurAmount, TheirAmount: it.TheirAmount, Currency: it.Currency, At: it.At.UTC().Format(time.RFC3339),
		ResolvedBy: it.ResolvedBy, Note: it.Note}
	if !it.Resolved.IsZero() {
		v.Resolved = it.Resolved.UTC().Format(time.RFC3339)
	}
	return v
}

func (s *Server) actor(r *http.Request) string {
	tok, _ := r.Context().Value(tokenKey{}).(store.APIToken)
	return tok.User
}

func (s *Server) settleRun(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Provider string `json:"provider"`
		Day      string `json:"day"`
	}
	var file []byte
	source := "fetched"
	if !r.URL.Query().Has("provider") {
		if !s.readJSON(w, r, &req, 4<<10) {
			return
		}
	} else {
		req.Provider, req.Day = r.URL.Query().Get("provider"), r.URL.Query().Get("day")
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
		if err != nil {
			s.fail(w, http.StatusRequestEntityTooLarge, uplink.ErrCodeBadRequest, fmt.Sprintf("the file could not be read whole (at most %d MB): %v", maxUpload>>20, err))
			return
		}
		if len(b) == 0 {
			s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "the body is empty: send the bill file itself with ?provider=…&day=…")
			return
		}
		file, source = b, "uploaded"
	}
	day, err := time.ParseInLocation(time.DateOnly, req.Day, settle.Location)
	if err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, fmt.Sprintf("day %q: the bill's date, like 2026-12-01", req.Day))
		return
	}
	if req.Provider != "alipay" && req.Provider != "wechat" {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, fmt.Sprintf("provider %q: central reads the bills of alipay and wechat", req.Provider))
		return
	}
	if file == nil {
		if s.Pay == nil {
			s.fail(w, http.StatusNotFound, "not_found", "no payment provider is configured: upload the file instead")
			return
		}
		if file, err = s.Pay.Bill(r.Context(), req.Provider, day); err != nil {
			s.payFail(w, r, err)
			return
		}
	}
	lines, err := settle.Parse(req.Provider, file)
	if err != nil {
		// Nothing stored: a file cut short or of another provider is
		// said so, and the day can be run again with the right one.
		s.fail(w, http.StatusUnprocessableEntity, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	who := s.actor(r)
	res, err := settle.Reconcile(r.Context(), s.cfg.Store, req.Provider, day, lines, file, source, who, s.cfg.Clock.Now())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.cfg.Logger.Info("settlement run", "provider", req.Provider, "day", req.Day, "source", source, "lines", res.Run.Lines,
		"matched", res.Run.Matched, "missing_ours", res.Run.MissingOurs, "missing_theirs", res.Run.MissingTheirs, "amount_differs", res.Run.AmountDiffers, "by", who)
	writeJSON(w, http.StatusOK, runView(res.Run))
}

// payFail answers a provider's failure to hand over a bill.
func (s *Server) payFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, pay.ErrNotFound):
		s.fail(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, pay.ErrBadRequest):
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
	case errors.Is(err, pay.ErrProvider):
		s.fail(w, http.StatusBadGateway, "provider", err.Error())
	default:
		s.internal(w, r, err)
	}
}

func (s *Server) settleRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	runs, err := s.cfg.Store.SettleRuns(r.Context(), q.Get("provider"), q.Get("day"))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := []SettleRunView{}
	for _, run := range runs {
		out = append(out, runView(run))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) settleItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.SettleFilter{Provider: q.Get("provider"), Day: q.Get("day"), Open: q.Get("open") == "1" || q.Get("open") == "true", Limit: 10000}
	items, err := s.cfg.Store.SettleItems(r.Context(), f)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if q.Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="settlement-items.csv"`)
		c := csv.NewWriter(w)
		c.Write([]string{"id", "provider", "day", "status", "kind", "reference", "order", "our_amount", "their_amount", "currency", "at", "resolved", "resolved_by", "note"})
		for _, it := range items {
			v := itemView(it)
			c.Write([]string{strconv.FormatInt(v.ID, 10), v.Provider, v.Day, v.Status, v.Kind, v.Reference, strconv.FormatInt(v.Order, 10),
				strconv.FormatInt(v.OurAmount, 10), strconv.FormatInt(v.TheirAmount, 10), v.Currency, v.At, v.Resolved, v.ResolvedBy, v.Note})
		}
		c.Flush()
		return
	}
	out := []SettleItemView{}
	for _, it := range items {
		out = append(out, itemView(it))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) settleResolve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "an item id")
		return
	}
	var req struct {
		Note string `json:"note"`
	}
	if !s.readJSON(w, r, &req, 4<<10) {
		return
	}
	if n := strings.TrimSpace(req.Note); n == "" || len(n) > 500 {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "say what was done in note (1 to 500 bytes)")
		return
	}
	who, now := s.actor(r), s.cfg.Clock.Now()
	err = s.cfg.Store.Update(r.Context(), func(tx *store.Tx) error {
		if err := tx.ResolveSettleItem(id, who, strings.TrimSpace(req.Note), now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: who, Action: "settlement.resolve", Target: strconv.FormatInt(id, 10), Detail: req.Note})
	})
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "resolved": now.UTC().Format(time.RFC3339)})
}
