package central

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/pdftext"
	"github.com/tixgate/tixgate/central/report"
	"github.com/tixgate/tixgate/central/settle"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

// Saved reports: ops save a sales report (a dimension, an event, a
// period of the last days), preview it, and have it mailed daily or
// weekly as PDF, XLSX and CSV to the managers who asked. Reading needs the
// read scope (an auditor reads); saving, changing, deleting and sending
// the ops scope, audited.
//
//	GET    /api/v1/reports/saved
//	POST   /api/v1/reports/saved             {"name", "by", "event", "days", "schedule", "recipients"}
//	PUT    /api/v1/reports/saved/{id}
//	DELETE /api/v1/reports/saved/{id}
//	GET    /api/v1/reports/saved/{id}/run?format=json|csv|xlsx|pdf
//	POST   /api/v1/reports/saved/{id}/send   mail it now
func (s *Server) savedReportRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/reports/saved", s.ops("read", s.savedList))
	m.HandleFunc("POST /api/v1/reports/saved", s.ops("ops", s.savedPut))
	m.HandleFunc("PUT /api/v1/reports/saved/{id}", s.ops("ops", s.savedPut))
	m.HandleFunc("DELETE /api/v1/reports/saved/{id}", s.ops("ops", s.savedDelete))
	m.HandleFunc("GET /api/v1/reports/saved/{id}/run", s.ops("read", s.savedRun))
	m.HandleFunc("POST /api/v1/reports/saved/{id}/send", s.ops("ops", s.savedSend))
}

// SavedReportView is a saved report as the API shows and takes it.
type SavedReportView struct {
	ID         int64    `json:"id,omitempty"`
	Name       string   `json:"name"`
	By         string   `json:"by"`
	Event      uint64   `json:"event,omitempty"`
	Days       int      `json:"days"`
	Schedule   string   `json:"schedule"`
	Recipients []string `json:"recipients"`
	CreatedBy  string   `json:"created_by,omitempty"`
	LastSent   string   `json:"last_sent,omitempty"`
}

func savedView(r store.SavedReport) SavedReportView {
	v := SavedReportView{ID: r.ID, Name: r.Name, By: r.By, Event: r.Event, Days: r.Days, Schedule: r.Schedule, Recipients: r.Recipients, CreatedBy: r.CreatedBy}
	if v.Recipients == nil {
		v.Recipients = []string{}
	}
	if !r.LastSent.IsZero() {
		v.LastSent = r.LastSent.UTC().Format(time.RFC3339)
	}
	return v
}

// check says what is wrong with a saved report as given.
func (v *SavedReportView) check() error {
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" || len(v.Name) > 100 {
		return errors.New("name: 1 to 100 bytes")
	}
	if _, ok := store.SalesDimensions[v.By]; !ok {
		return fmt.Errorf("by %q: one of %s", v.By, strings.Join(report.Dimensions(), ", "))
	}
	if v.Days < 1 || v.Days > 366 {
		return fmt.Errorf("days %d: the report covers the last 1 to 366 days", v.Days)
	}
	if v.Schedule != "" && v.Schedule != "daily" && v.Schedule != "weekly" {
		return fmt.Errorf("schedule %q: daily, weekly or empty", v.Schedule)
	}
	if len(v.Recipients) > 50 {
		return errors.New("recipients: at most 50")
	}
	for i, r := range v.Recipients {
		a, err := mail.ParseAddress(strings.TrimSpace(r))
		if err != nil || strings.ContainsAny(a.Address, ",\r\n") {
			return fmt.Errorf("recipient %q: not a mail address", r)
		}
		v.Recipients[i] = a.Address
	}
	if v.Schedule != "" && len(v.Recipients) == 0 {
		return errors.New("a scheduled report needs recipients")
	}
	return nil
}

func (s *Server) savedList(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Store.SavedReports(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := []SavedReportView{}
	for _, sr := range list {
		out = append(out, savedView(sr))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) savedID(w http.ResponseWriter, r *http.Request) (store.SavedReport, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "a saved report's id")
		return store.SavedReport{}, false
	}
	sr, err := s.cfg.Store.SavedReport(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, http.StatusNotFound, "not_found", err.Error())
		return sr, false
	}
	if err != nil {
		s.internal(w, r, err)
		return sr, false
	}
	return sr, true
}

func (s *Server) savedPut(w http.ResponseWriter, r *http.Request) {
	var v SavedReportView
	if !s.readJSON(w, r, &v, 16<<10) {
		return
	}
	if err := v.check(); err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	who, now := s.actor(r), s.cfg.Clock.Now()
	sr := store.SavedReport{Name: v.Name, By: v.By, Event: v.Event, Days: v.Days, Schedule: v.Schedule, Recipients: v.Recipients,
		CreatedBy: who, Created: now, Updated: now}
	status, action := http.StatusCreated, "report.save"
	if r.PathValue("id") != "" {
		old, ok := s.savedID(w, r)
		if !ok {
			return
		}
		sr.ID, sr.CreatedBy, sr.LastSent, status, action = old.ID, old.CreatedBy, old.LastSent, http.StatusOK, "report.change"
	}
	err := s.cfg.Store.Update(r.Context(), func(tx *store.Tx) error {
		if sr.ID == 0 {
			id, err := tx.AddSavedReport(sr)
			sr.ID = id
			if err != nil {
				return err
			}
		} else if err := tx.UpdateSavedReport(sr); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: who, Action: action, Target: strconv.FormatInt(sr.ID, 10),
			Detail: fmt.Sprintf("%s: by %s, %d days, %s to %s", sr.Name, sr.By, sr.Days, cmp.Or(sr.Schedule, "unscheduled"), strings.Join(sr.Recipients, " "))})
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, status, savedView(sr))
}

func (s *Server) savedDelete(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.savedID(w, r)
	if !ok {
		return
	}
	who, now := s.actor(r), s.cfg.Clock.Now()
	err := s.cfg.Store.Update(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeleteSavedReport(sr.ID); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: who, Action: "report.delete", Target: strconv.FormatInt(sr.ID, 10), Detail: sr.Name})
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// runSaved computes a saved report over the days before now.
func (s *Server) runSaved(ctx context.Context, sr store.SavedReport, now time.Time) (report.Sales, error) {
	return report.SalesOf(ctx, s.cfg.Store, report.Query{By: sr.By, Event: sr.Event, From: now.AddDate(0, 0, -sr.Days), Until: now})
}

func (s *Server) savedRun(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.savedID(w, r)
	if !ok {
		return
	}
	if !validFormat(w, r, s) {
		return
	}
	rep, err := s.runSaved(r.Context(), sr, s.cfg.Clock.Now())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.writeSales(w, r, rep, sr.Name)
}

// validFormat checks a report's format parameter.
func validFormat(w http.ResponseWriter, r *http.Request, s *Server) bool {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json", "csv", "xlsx", "pdf":
		return true
	default:
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, fmt.Sprintf("format %q: json, csv, xlsx or pdf", f))
		return false
	}
}

// writeSales answers a sales report in the format asked: JSON, CSV, an
// XLSX workbook or a PDF titled title.
func (s *Server) writeSales(w http.ResponseWriter, r *http.Request, rep report.Sales, title string) {
	var buf bytes.Buffer
	var err error
	var name, typ string
	switch r.URL.Query().Get("format") {
	case "csv":
		name, typ, err = rep.FileName(), "text/csv; charset=utf-8", rep.WriteCSV(&buf)
	case "xlsx":
		name, typ, err = rep.XLSXName(), xlsxType, rep.WriteXLSX(&buf)
	case "pdf":
		name, typ, err = rep.PDFName(), "application/pdf", rep.WritePDF(&buf, reportFonts, title)
	default:
		writeJSON(w, http.StatusOK, rep)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Write(buf.Bytes())
}

// reportFonts draw the reports' PDFs (Debian's fonts).
var reportFonts = pdftext.NewLoader(pdftext.Fonts{})

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func (s *Server) savedSend(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.savedID(w, r)
	if !ok {
		return
	}
	if len(sr.Recipients) == 0 {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "the report has no recipients")
		return
	}
	now := s.cfg.Clock.Now()
	if err := s.mailSaved(r.Context(), sr, now); err != nil {
		s.fail(w, http.StatusBadGateway, "mail", err.Error())
		return
	}
	s.cfg.Store.Update(r.Context(), func(tx *store.Tx) error {
		return tx.Audit(store.AuditEntry{At: now, Actor: s.actor(r), Action: "report.send", Target: strconv.FormatInt(sr.ID, 10), Detail: strings.Join(sr.Recipients, " ")})
	})
	writeJSON(w, http.StatusOK, map[string]any{"sent_to": sr.Recipients})
}

// mailSaved mails a saved report, run now, to its recipients: the
// figures in the body, the workbook and the CSV attached.
func (s *Server) mailSaved(ctx context.Context, sr store.SavedReport, now time.Time) error {
	rep, err := s.runSaved(ctx, sr, now)
	if err != nil {
		return err
	}
	var xlsx, csv, pdf bytes.Buffer
	if err := rep.WriteXLSX(&xlsx); err != nil {
		return err
	}
	if err := rep.WritePDF(&pdf, reportFonts, sr.Name); err != nil {
		return err
	}
	if err := rep.WriteCSV(&csv); err != nil {
		return err
	}
	var body strings.Builder
	fmt.Fprintf(&body, "%s: sales by %s, %s to %s (UTC).\n\n", sr.Name, sr.By, rep.From.UTC().Format("2006-01-02 15:04"), rep.Until.UTC().Format("2006-01-02 15:04"))
	for _, t := range rep.Totals() {
		fmt.Fprintf(&body, "%s: %d tickets, %s\n", t.Currency, t.Tickets, report.Amount(t.Revenue, t.Currency))
	}
	fmt.Fprintf(&body, "\nThe rows are in the attached PDF, workbook (%s) and CSV.\nThis report was saved by %s; ops change or stop it in central.\n", rep.XLSXName(), sr.CreatedBy)
	mailer := s.cfg.Mailer
	if mailer == nil {
		return errors.New("no mail relay is configured (start central with --smtp HOST:PORT --mail-from ADDR)")
	}
	var errs []error
	for _, to := range sr.Recipients {
		err := mailer.Send(ctx, shop.Message{To: to, Subject: "tixgate report: " + sr.Name, Body: body.String(), Attachments: []shop.Attachment{
			{Name: rep.PDFName(), ContentType: "application/pdf", Data: pdf.Bytes()},
			{Name: rep.XLSXName(), ContentType: xlsxType, Data: xlsx.Bytes()},
			{Name: rep.FileName(), ContentType: "text/csv", Data: csv.Bytes()},
		}})
		if err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// reportZone is where the scheduled reports' days begin (the providers'
// and organizers' Beijing time); the mails go at reportHour, weekly ones
// on Mondays.
var reportZone = settle.Location

const reportHour = 7

// dueSince is the latest time at or before now that a report of the
// schedule was due.
func dueSince(schedule string, now time.Time) time.Time {
	lt := now.In(reportZone)
	due := time.Date(lt.Year(), lt.Month(), lt.Day(), reportHour, 0, 0, 0, reportZone)
	if due.After(lt) {
		due = due.AddDate(0, 0, -1)
	}
	if schedule == "weekly" {
		for due.Weekday() != time.Monday {
			due = due.AddDate(0, 0, -1)
		}
	}
	return due
}

// sendDue mails the scheduled reports whose time came since they last
// went (or since they were saved), once each however many centrals run
// it; it returns how many went.
func (s *Server) sendDue(ctx context.Context, now time.Time) int {
	list, err := s.cfg.Store.SavedReports(ctx)
	if err != nil {
		s.cfg.Logger.Error("scheduled reports", "err", err)
		return 0
	}
	sent := 0
	for _, sr := range list {
		if sr.Schedule == "" || len(sr.Recipients) == 0 {
			continue
		}
		due := dueSince(sr.Schedule, now)
		last := sr.LastSent
		if last.IsZero() {
			last = sr.Created
		}
		if !last.Before(due) {
			continue
		}
		if ok, err := s.cfg.Store.MarkReportSent(ctx, sr.ID, sr.LastSent, now); err != nil || !ok {
			continue // another central took it
		}
		if err := s.mailSaved(ctx, sr, now); err != nil {
			s.cfg.Logger.Error("scheduled report not sent", "report", sr.ID, "name", sr.Name, "err", err)
			s.cfg.Store.MarkReportSent(ctx, sr.ID, now, sr.LastSent) // try again next round
			continue
		}
		s.cfg.Logger.Info("scheduled report sent", "report", sr.ID, "name", sr.Name, "to", len(sr.Recipients))
		sent++
	}
	return sent
}

// scheduleLoop sends the scheduled reports as they fall due.
func (s *Server) scheduleLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.sendDue(ctx, s.cfg.Clock.Now())
	}
}
