package central

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/testsrv"
)

// A custom report saved by ops (an auditor may read it, not change it),
// previewed as a workbook, and mailed by the schedule once when its hour
// comes: the mail read back from mailpit, its XLSX and CSV attached and
// opening with the figures of the sales.
func TestSavedReportScheduled(t *testing.T) {
	mp := testsrv.StartMailpit(t)
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixtureWith(t, dsn, func(c *Config) {
			c.Mailer = &shop.SMTP{Host: "127.0.0.1", Port: mp.SMTP, From: "reports@tixgate.example", Insecure: true}
		})
		ctx := context.Background()
		ops, _ := AddAPIToken(ctx, f.db, f.clock, "mei", "ops", []string{"read", "ops"})
		auditor, _ := AddAPIToken(ctx, f.db, f.clock, "audit-bot", "read", []string{"read"})
		err := f.db.Update(ctx, func(tx *store.Tx) error {
			for i, c := range []string{store.ChannelOnline, store.ChannelOnline, store.ChannelSeller} {
				sold := now0.Add(-2 * time.Hour)
				if err := tx.AddSaleFact(store.SaleFact{Event: 1042, Serial: uint64(i + 1), Type: 1, Channel: c, Method: "alipay", Currency: "CNY",
					Amount: 12800, SoldAt: sold, Day: sold.Format(time.DateOnly), Hour: sold.Hour()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		manager := fmt.Sprintf("manager-%s@example.org", map[bool]string{true: "pg", false: "lite"}[dsn != ""])
		body := map[string]any{"name": "Channels, last 30 days", "by": "channel", "days": 30, "schedule": "daily", "recipients": []string{manager}}
		if code, b := f.post("/api/v1/reports/saved", auditor, body); code != http.StatusForbidden {
			t.Errorf("an auditor saved a report: %d %s", code, b)
		}
		for name, bad := range map[string]map[string]any{
			"an unknown dimension":       {"name": "x", "by": "colour", "days": 7},
			"a schedule without mail":    {"name": "x", "by": "day", "days": 7, "schedule": "daily"},
			"a recipient not an address": {"name": "x", "by": "day", "days": 7, "recipients": []string{"the boss"}},
			"a year and more":            {"name": "x", "by": "day", "days": 400},
		} {
			if code, b := f.post("/api/v1/reports/saved", ops, bad); code != http.StatusBadRequest {
				t.Errorf("%s: %d %s", name, code, b)
			}
		}
		code, b := f.post("/api/v1/reports/saved", ops, body)
		var saved SavedReportView
		if code != http.StatusCreated || json.Unmarshal(b, &saved) != nil || saved.ID == 0 {
			t.Fatalf("save: %d %s", code, b)
		}
		if n := f.audited("report.save", fmt.Sprint(saved.ID)); n != 1 {
			t.Errorf("%d audit entries for the save", n)
		}
		// The auditor previews it as a workbook.
		code, b = f.get(fmt.Sprintf("/api/v1/reports/saved/%d/run?format=xlsx", saved.ID), auditor)
		if code != 200 {
			t.Fatalf("preview: %d %s", code, b)
		}
		checkWorkbook(t, b)

		// Saved at 01:00 in Beijing: the 07:00 mail is the first due.
		if n := f.srv.sendDue(ctx, f.clock.Now()); n != 0 {
			t.Errorf("%d reports sent before their hour", n)
		}
		at := f.clock.Now().Add(7 * time.Hour)
		if n := f.srv.sendDue(ctx, at); n != 1 {
			t.Fatalf("%d reports sent at their hour, want 1", n)
		}
		if n := f.srv.sendDue(ctx, at.Add(time.Minute)); n != 0 {
			t.Errorf("sent again a minute later: %d", n)
		}
		text := mp.Message(t, manager, "Channels, last 30 days")
		if !strings.Contains(text, "CNY: 3 tickets") {
			t.Errorf("mail text:\n%s", text)
		}
		files := mp.Attachments(t, manager, "Channels, last 30 days")
		var gotXLSX, gotCSV, gotPDF bool
		for name, data := range files {
			switch {
			case strings.HasSuffix(name, ".xlsx"):
				checkWorkbook(t, data)
				gotXLSX = true
			case strings.HasSuffix(name, ".pdf"):
				if dir := os.Getenv("TIXGATE_SCREENS"); dir != "" {
					os.WriteFile(filepath.Join(dir, "report-"+name), data, 0o644)
				}
				text := pdfText(t, data)
				for _, w := range []string{"Channels, last 30 days", "online", "seller", "¥384.00"} {
					if !strings.Contains(text, w) {
						t.Errorf("the PDF lacks %q:\n%s", w, text)
					}
				}
				gotPDF = true
			case strings.HasSuffix(name, ".csv"):
				rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				if err != nil || len(rows) != 3 || rows[1][0] != "online" || rows[1][3] != "2" || rows[2][0] != "seller" {
					t.Errorf("csv attachment: %v %v", rows, err)
				}
				gotCSV = true
			}
		}
		if !gotXLSX || !gotCSV || !gotPDF {
			t.Errorf("attachments: %d files, pdf %v xlsx %v csv %v", len(files), gotPDF, gotXLSX, gotCSV)
		}
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/api/v1/reports/saved/%d", f.http.URL, saved.ID), nil)
		for tok, want := range map[string]int{auditor: http.StatusForbidden, ops: http.StatusNoContent} {
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("delete: %d, want %d", resp.StatusCode, want)
			}
		}
	})
}

// checkWorkbook opens a report's workbook: two online tickets of ¥128
// and one sold by a seller, and the total.
func checkWorkbook(t *testing.T, data []byte) {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows("sales")
	if err != nil || len(rows) < 6 {
		t.Fatalf("sheet: %d rows, %v", len(rows), err)
	}
	want := [][]string{{"online", "", "CNY", "2", "256.00"}, {"seller", "", "CNY", "1", "128.00"}, {"total", "", "CNY", "3", "384.00"}}
	for i, w := range want {
		if got := rows[3+i][:5]; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d: %q, want %q", 4+i, got, w)
		}
	}
}

// pdfText is a PDF's text, as poppler's pdftotext reads it.
func pdfText(t *testing.T, data []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils; make deps installs it): %v", err)
	}
	return string(out)
}
