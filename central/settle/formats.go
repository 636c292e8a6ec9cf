package settle

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tixgate/tixgate/central/store"
)

// ParseAlipay reads Alipay's trade bill (bill_type trade): a zip holding
// the day's business details (…_业务明细.csv) and their summary, GBK
// encoded, with # comment lines around a CSV whose fields end in a tab.
// Trades (交易) are payments, keyed by Alipay's trade number; refunds
// (退款) by our request number (退款批次号/请求号). Amounts are yuan with
// two decimals; the service fee (服务费) is negative on a trade.
func ParseAlipay(file []byte) ([]Line, error) {
	z, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return nil, fmt.Errorf("alipay bill: not a zip (%v): %w", err, ErrFormat)
	}
	for _, f := range z.File {
		name := f.Name
		if f.NonUTF8 || !isUTF8(name) {
			if n, err := simplifiedchinese.GBK.NewDecoder().String(name); err == nil {
				name = n
			}
		}
		if !strings.HasSuffix(name, "_业务明细.csv") {
			continue
		}
		if f.UncompressedSize64 > maxFile {
			return nil, fmt.Errorf("alipay bill: %s is larger than %d MB", name, maxFile>>20)
		}
		r, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("alipay bill: %s: %w", name, err)
		}
		raw, err := io.ReadAll(io.LimitReader(r, maxFile+1))
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("alipay bill: %s: %w", name, err)
		}
		text, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw)
		if err != nil {
			return nil, fmt.Errorf("alipay bill: %s is not GBK text: %w", name, ErrFormat)
		}
		return parseAlipayDetails(text)
	}
	return nil, fmt.Errorf("alipay bill: no …_业务明细.csv in the zip: %w", ErrFormat)
}

// maxFile is the largest bill read once unpacked.
const maxFile = 512 << 20

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func parseAlipayDetails(text []byte) ([]Line, error) {
	var body bytes.Buffer
	for line := range bytes.Lines(text) {
		if !bytes.HasPrefix(line, []byte("#")) && len(bytes.TrimSpace(line)) > 0 {
			body.Write(line)
		}
	}
	r := csv.NewReader(&body)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("alipay bill: no header: %w", ErrFormat)
	}
	col := columns(header)
	need := []string{"支付宝交易号", "商户订单号", "业务类型", "完成时间", "商家实收（元）", "退款批次号/请求号", "服务费（元）"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("alipay bill: no column %s: %w", n, ErrFormat)
		}
	}
	var out []Line
	for n := 2; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("alipay bill: line %d: %v: %w", n, err, ErrFormat)
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05", get("完成时间"), Location)
		if err != nil {
			return nil, fmt.Errorf("alipay bill: line %d: time %q: %w", n, get("完成时间"), ErrFormat)
		}
		amount, err1 := fen(get("商家实收（元）"))
		fee, err2 := fen(get("服务费（元）"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("alipay bill: line %d: amounts %q, %q: %w", n, get("商家实收（元）"), get("服务费（元）"), ErrFormat)
		}
		l := Line{Merchant: get("商户订单号"), Currency: "CNY", At: at}
		switch get("业务类型") {
		case "交易":
			l.Kind, l.Reference, l.Amount, l.Fee = store.PayPayment, get("支付宝交易号"), amount, -fee
		case "退款":
			l.Kind, l.Reference, l.Amount, l.Fee = store.PayRefund, get("退款批次号/请求号"), -amount, fee
		default:
			continue // other business (transfers, top-ups) is not a ticket's money
		}
		if l.Reference == "" || l.Amount <= 0 {
			return nil, fmt.Errorf("alipay bill: line %d: a %s without its number or amount: %w", n, get("业务类型"), ErrFormat)
		}
		out = append(out, l)
	}
}

// ParseWeChat reads WeChat Pay's trade bill (bill_type ALL): a CSV whose
// every field starts with a backquote, the day's movements and then a
// summary under its own header (总交易单数,…). A SUCCESS row is a payment
// keyed by WeChat Pay's transaction id (应结订单金额 the amount); a REFUND
// row a refund keyed by our refund number (商户退款单号, 退款金额 the
// amount). The fee (手续费) has five decimals, negative on a refund.
func ParseWeChat(file []byte) ([]Line, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("wechat pay bill: no header: %w", ErrFormat)
	}
	col := columns(header)
	for _, n := range []string{"交易时间", "微信订单号", "商户订单号", "交易状态", "货币种类", "应结订单金额", "商户退款单号", "退款金额", "手续费"} {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("wechat pay bill: no column %s: %w", n, ErrFormat)
		}
	}
	var out []Line
	for n := 2; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("wechat pay bill: no summary at the end (a file cut short?): %w", ErrFormat)
		}
		if err != nil {
			return nil, fmt.Errorf("wechat pay bill: line %d: %v: %w", n, err, ErrFormat)
		}
		if len(rec) > 0 && strings.TrimPrefix(rec[0], "\ufeff") == "总交易单数" {
			sum, err := r.Read()
			if err != nil || len(sum) == 0 {
				return nil, fmt.Errorf("wechat pay bill: summary: %w", ErrFormat)
			}
			if count, err := strconv.Atoi(strings.TrimPrefix(sum[0], "`")); err != nil || count != len(out) {
				return nil, fmt.Errorf("wechat pay bill: the summary counts %s movements, the file holds %d: %w", sum[0], len(out), ErrFormat)
			}
			return out, nil
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(strings.TrimPrefix(rec[i], "`"))
			}
			return ""
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05", get("交易时间"), Location)
		if err != nil {
			return nil, fmt.Errorf("wechat pay bill: line %d: time %q: %w", n, get("交易时间"), ErrFormat)
		}
		fee, err := feeFen(get("手续费"))
		if err != nil {
			return nil, fmt.Errorf("wechat pay bill: line %d: fee %q: %w", n, get("手续费"), ErrFormat)
		}
		l := Line{Merchant: get("商户订单号"), Currency: get("货币种类"), At: at}
		var amount string
		switch get("交易状态") {
		case "SUCCESS":
			l.Kind, l.Reference, l.Fee, amount = store.PayPayment, get("微信订单号"), fee, get("应结订单金额")
		case "REFUND":
			l.Kind, l.Reference, l.Fee, amount = store.PayRefund, get("商户退款单号"), -fee, get("退款金额")
		default:
			continue // REVOKED, NOTPAY…: no money moved
		}
		if l.Amount, err = fen(amount); err != nil || l.Amount <= 0 || l.Reference == "" {
			return nil, fmt.Errorf("wechat pay bill: line %d: a %s without its number or amount: %w", n, get("交易状态"), ErrFormat)
		}
		out = append(out, l)
	}
}

func columns(header []string) map[string]int {
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	return col
}

// fen reads yuan with up to two decimals ("-12.30") as fen.
func fen(s string) (int64, error) { return decimal(s, 2) }

// feeFen reads a fee with up to five decimals, rounded half up to fen.
func feeFen(s string) (int64, error) {
	n, err := decimal(s, 5)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return -((-n + 500) / 1000), nil
	}
	return (n + 500) / 1000, nil
}

// decimal reads s as an integer count of 10^-places units.
func decimal(s string, places int) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > places {
		return 0, fmt.Errorf("amount %q", s)
	}
	frac += strings.Repeat("0", places-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q", s)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q", s)
	}
	n := w
	for range places {
		n *= 10
	}
	n += f
	if neg {
		n = -n
	}
	return n, nil
}
