package ops

import (
	"encoding/json"
	"strings"

	"github.com/tixgate/tixgate/ledger/rules"
)

// ruleWords says an entry rule in the language of t: its parts joined,
// the JSON of a condition the words cannot say last.
func ruleWords(t func(string, ...any) string, rule rules.Rule) string {
	var parts []string
	switch {
	case rule.MultiEntry:
		parts = append(parts, t("rule.words.multi_entry"))
	case rule.Reentry:
		parts = append(parts, t("rule.words.reentry"))
	case rule.MaxEntries == 0:
		parts = append(parts, t("rule.words.single"))
	}
	if rule.MaxEntries > 0 {
		parts = append(parts, t("rule.words.max_entries", "n", rule.MaxEntries))
	}
	if rule.MaxEntriesPerDay > 0 {
		parts = append(parts, t("rule.words.max_entries_per_day", "n", rule.MaxEntriesPerDay))
	}
	if rule.MaxDays > 0 {
		parts = append(parts, t("rule.words.max_days", "n", rule.MaxDays))
	}
	if rule.MinMinutesBetween > 0 {
		parts = append(parts, t("rule.words.min_minutes_between", "n", rule.MinMinutesBetween))
	}
	if rule.MaxMinutesAfterFirst > 0 {
		parts = append(parts, t("rule.words.max_minutes_after_first", "n", rule.MaxMinutesAfterFirst))
	}
	if rule.PerZone {
		parts = append(parts, t("rule.words.per_zone"))
	}
	if len(rule.Windows) > 0 {
		var ws []string
		for _, w := range rule.Windows {
			from, until := w.From, w.Until
			if from == "" {
				from = "…"
			}
			if until == "" {
				until = "…"
			}
			ws = append(ws, from+"–"+until)
		}
		parts = append(parts, t("rule.words.windows", "windows", strings.Join(ws, t("rule.words.or"))))
	}
	if len(rule.Weekdays) > 0 {
		var ds []string
		for _, d := range rule.Weekdays {
			ds = append(ds, t("weekday."+d))
		}
		parts = append(parts, t("rule.words.weekdays", "days", strings.Join(ds, t("rule.words.list"))))
	}
	if len(rule.Dates) > 0 {
		parts = append(parts, t("rule.words.dates", "dates", strings.Join(rule.Dates, t("rule.words.list"))))
	}
	if len(rule.Gates) > 0 {
		parts = append(parts, t("rule.words.gates", "gates", strings.Join(rule.Gates, t("rule.words.list"))))
	}
	if rule.When != nil {
		js, _ := json.Marshal(rule.When)
		parts = append(parts, t("rule.words.when", "json", string(js)))
	}
	return strings.Join(parts, t("rule.words.sep"))
}
