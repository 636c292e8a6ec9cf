package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// A ticket type put on sale from the command line is in the box office's
// event list, at its price; bad flags say what is wrong.
func TestCentralShopOffer(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ops")
	venue := filepath.Join("..", "..", "testdata", "venue.yaml")
	if _, errs, code := cli(t, "", "central", "venue", "import", "--data", data, "--now", venue); code != 0 {
		t.Fatal(errs)
	}
	out, errs, code := cli(t, "", "central", "shop", "offer", "--data", data, "--event", "1042", "--type", "1", "--price", "128.00", "--quota", "300")
	if code != 0 || !strings.Contains(out, "300 tickets at") {
		t.Fatalf("shop offer: exit %d: %s%s", code, out, errs)
	}
	for _, bad := range [][]string{
		{"--price", "12.345", "--quota", "1"},
		{"--price", "1.00", "--quota", "1", "--currency", "yuan"},
		{"--price", "1.00", "--quota", "1", "--from", "tomorrow"},
	} {
		args := append([]string{"central", "shop", "offer", "--data", data, "--event", "1042", "--type", "2"}, bad...)
		if _, errs, code := cli(t, "", args...); code != 2 || !strings.Contains(errs, "--") {
			t.Errorf("%v: exit %d, %q", bad, code, errs)
		}
	}
	for _, bad := range [][]string{{"--smtp", "127.0.0.1:1025"}, {"--mail-from", "a@b.c"}, {"--smtp", "nohost", "--mail-from", "a@b.c"}} {
		args := append([]string{"central", "--data", data, "--listen", "127.0.0.1:0"}, bad...)
		if _, errs, code := cli(t, "", args...); code != 2 || !strings.Contains(errs, "smtp") {
			t.Errorf("central %v: exit %d, %q", bad, code, errs)
		}
	}
	t.Setenv("TIXGATE_ALIYUN_ACCESS_KEY_ID", "")
	t.Setenv("TIXGATE_ALIYUN_ACCESS_KEY_SECRET", "")
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--sms", "twilio"}, "--sms wants dev or aliyun"},
		{[]string{"--sms", "aliyun", "--sms-sign-name", "票门", "--sms-template", "SMS_1"}, "TIXGATE_ALIYUN_ACCESS_KEY_SECRET"},
		{[]string{"--captcha-bits", "40"}, "--captcha-bits"},
	} {
		args := append([]string{"central", "--data", data, "--listen", "127.0.0.1:0"}, bad.args...)
		if _, errs, code := cli(t, "", args...); code != 2 || !strings.Contains(errs, bad.want) {
			t.Errorf("central %v: exit %d, %q", bad.args, code, errs)
		}
	}
	_, url, _ := startCentral(t, context.Background(), data)
	resp, err := http.Get(url + "/api/v1/shop/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Events []json.RawMessage `json:"events"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || len(body.Events) != 1 || !strings.Contains(string(body.Events[0]), "128") {
		t.Errorf("shop events: %d %s", resp.StatusCode, body.Events)
	}
}
