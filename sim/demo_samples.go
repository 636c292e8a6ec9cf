package sim

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Sample tickets: the first of each type are kept out of the crowd, for
// people to scan.
const (
	demoGeneralSamples = 5
	demoVIPSamples     = 3
)

// writeSamples renders sample tickets of the new venue as QR PNGs, with an
// index saying what a gate does with each: general and VIP tickets, a
// refunded one and a forgery.
func writeSamples(dir string, info DemoInfo, codes map[uint64]string) (DemoSamples, error) {
	out := DemoSamples{Dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("demo: %w", err)
	}
	general, vip := info.Types[0], info.Types[1]
	add := func(name string, serial, typ uint64, code, expect string) error {
		img, err := scanner.RenderPNG(code, 400)
		if err != nil {
			return fmt.Errorf("demo: ticket %d: %w", serial, err)
		}
		if err := keyfile.WriteFileMode(filepath.Join(dir, name), img, 0o644, true); err != nil {
			return err
		}
		out.Tickets = append(out.Tickets, DemoSample{File: name, Serial: serial, Type: typ, Expect: expect, Code: code})
		return nil
	}
	for s := general.SerialMin; s < general.SerialMin+demoGeneralSamples; s++ {
		if err := add(fmt.Sprintf("general-%d.png", s), s, DemoGeneral, codes[s], "ok at G1-G3 once, then already_used; wrong_zone at G4 (the VIP gate)"); err != nil {
			return out, err
		}
	}
	for s := vip.SerialMin; s < vip.SerialMin+demoVIPSamples; s++ {
		if err := add(fmt.Sprintf("vip-%d.png", s), s, DemoVIP, codes[s], "ok at every gate, G4 (VIP) included; in again after an exit scan"); err != nil {
			return out, err
		}
	}
	r := general.Revoked[0]
	if err := add(fmt.Sprintf("refunded-%d.png", r), r, DemoGeneral, codes[r], "revoked at every gate: central refunded it"); err != nil {
		return out, err
	}
	stranger, err := ticket.GenerateKey(nil)
	if err != nil {
		return out, err
	}
	fake, err := ticket.Issue(ticket.Ticket{Event: DemoEvent, Serial: general.SerialMin + 1, Type: DemoGeneral, Zones: manifest.MaskOf([]int{0})}, stranger)
	if err != nil {
		return out, err
	}
	if err := add("forged.png", general.SerialMin+1, DemoGeneral, fake, "unknown_issuer at every gate: a well-made fake, signed by a key central never certified"); err != nil {
		return out, err
	}
	var index strings.Builder
	fmt.Fprintf(&index, "Sample tickets of the tixgate demo (event %d, %s at %s).\n"+
		"Show one to a gate's camera, type its code in the manual entry field,\n"+
		"or read it with: tixgate ticket decode FILE.png\n\n", info.Event.ID, info.Event.Name, info.Event.Venue)
	for _, s := range out.Tickets {
		fmt.Fprintf(&index, "%s  %s\n  %s\n", s.File, s.Expect, s.Code)
	}
	return out, keyfile.WriteFileMode(filepath.Join(dir, DemoSampleList), []byte(index.String()), 0o644, true)
}

// WriteTable prints where everything is and how to log in, in a short
// table.
func (i DemoInfo) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\n  WHAT\tURL\tLOGIN\n")
	fmt.Fprintf(tw, "  ops dashboard (central)\t%s\tuser %s, password %s\n", i.Central.Dashboard, i.Central.User, i.Central.Password)
	if i.Buyer.Email != "" {
		fmt.Fprintf(tw, "  storefront (central)\t%s\temail %s, password %s (voucher %s)\n", i.Buyer.URL, i.Buyer.Email, i.Buyer.Password, i.Buyer.Promo)
	}
	for _, d := range i.Devices {
		what := "gate " + d.Gate
		if d.Role == string(ticket.RoleSeller) {
			what = "seller"
		}
		var pins []string
		for _, l := range i.Logins {
			for _, dev := range l.Devices {
				if dev == d.Name {
					pins = append(pins, fmt.Sprintf("user %s, PIN %s", l.Name, l.PIN))
				}
			}
		}
		fmt.Fprintf(tw, "  %s (%s)\t%s\t%s\n", d.Name, what, d.URL, strings.Join(pins, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n  sample ticket QR images: %s (%s says what each does)\n", i.Samples.Dir, DemoSampleList)
	fmt.Fprintf(w, "  event %d %q: ", i.Event.ID, i.Event.Name)
	for k, t := range i.Types {
		if k > 0 {
			fmt.Fprint(w, "; ")
		}
		fmt.Fprintf(w, "%s serials %d-%d (gates %s)", t.Name, t.SerialMin, t.SerialMax, strings.Join(t.Gates, ","))
	}
	fmt.Fprintf(w, "\n  API tokens: %s (ops API, read) and api.token in each device's folder; all of it in %s\n",
		i.Central.TokenFile, DemoStateFile)
	return nil
}
