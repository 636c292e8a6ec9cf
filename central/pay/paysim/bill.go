package paysim

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// BillRow is one line of a provider's daily bill as the simulator keeps
// it, before it is written in the provider's format.
type BillRow struct {
	Refund     bool   // a refund; else a payment
	TradeNo    string // the provider's number of the payment
	OutTradeNo string // the merchant's order number
	RefundNo   string // the merchant's refund request number (refunds)
	Amount     int64  // fen, positive
	Fee        int64  // the provider's service fee, fen: charged on a payment, returned on a refund
	At         time.Time
	Subject    string
}

// FeeRate is the service fee the simulators charge, in parts per 10,000
// (0.6%, a common rate for online merchants in China).
const FeeRate = 60

// fee is the service fee on amount fen, rounded half up.
func fee(amount int64) int64 { return (amount*FeeRate + 5000) / 10000 }

// rows lists a day's movements (Beijing time) of trades, in time order.
func billRows(day string, trades []billTrade) []BillRow {
	var out []BillRow
	for _, t := range trades {
		if !t.paidAt.IsZero() && t.paidAt.In(beijing).Format(time.DateOnly) == day {
			out = append(out, BillRow{TradeNo: t.tradeNo, OutTradeNo: t.outTradeNo, Amount: t.total, Fee: fee(t.total), At: t.paidAt, Subject: t.subject})
		}
		for no, at := range t.refundedAt {
			if at.In(beijing).Format(time.DateOnly) == day {
				n := t.refunds[no]
				// The fee comes back in proportion to what is refunded.
				back := fee(t.total) * n / t.total
				out = append(out, BillRow{Refund: true, TradeNo: t.tradeNo, OutTradeNo: t.outTradeNo, RefundNo: no, Amount: n, Fee: back, At: at, Subject: t.subject})
			}
		}
	}
	slices.SortFunc(out, func(a, b BillRow) int { return a.At.Compare(b.At) })
	return out
}

type billTrade struct {
	tradeNo, outTradeNo, subject string
	total                        int64
	paidAt                       time.Time
	refunds                      map[string]int64
	refundedAt                   map[string]time.Time
}

func validDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func token() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Alipay: alipay.data.dataservice.bill.downloadurl.query answers a
// short-lived URL; the file behind it is a zip of two GBK-encoded CSV
// files, the day's business details (业务明细) and their summary.

func (a *Alipay) billURL(w http.ResponseWriter, method string, biz map[string]string) {
	day := biz["bill_date"]
	switch {
	case biz["bill_type"] != "trade" && biz["bill_type"] != "signcustomer":
		a.answer(w, method, refusal("isp.bill_type_invalid", "账单类型不合法"))
		return
	case !validDay(day):
		a.answer(w, method, refusal("isp.bill_date_invalid", "账单日期格式不正确"))
		return
	case day >= a.now().In(beijing).Format(time.DateOnly):
		a.answer(w, method, refusal("isp.bill_not_exist", "账单不存在"))
		return
	}
	tok := token()
	a.mu.Lock()
	if a.billTokens == nil {
		a.billTokens = map[string]string{}
	}
	a.billTokens[tok] = day
	a.mu.Unlock()
	a.answer(w, method, map[string]any{"code": "10000", "msg": "Success",
		"bill_download_url": a.url + "/bills/" + day + "?downloadFileName=" + day + ".csv.zip&token=" + tok})
}

func (a *Alipay) billFile(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	day, ok := a.billTokens[r.URL.Query().Get("token")]
	delete(a.billTokens, r.URL.Query().Get("token")) // one download per URL
	a.mu.Unlock()
	if !ok || day != r.PathValue("day") {
		http.Error(w, "链接已失效", http.StatusForbidden)
		return
	}
	b, err := a.Bill(day)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Write(b)
}

// BillRows are a day's movements, after BillEdit.
func (a *Alipay) BillRows(day string) []BillRow {
	a.mu.Lock()
	var trades []billTrade
	for _, t := range a.trades {
		trades = append(trades, billTrade{t.TradeNo, t.OutTradeNo, t.Subject, t.Total, t.PaidAt, t.Refunds, t.RefundedAt})
	}
	edit := a.BillEdit
	rows := billRows(day, trades)
	a.mu.Unlock()
	if edit != nil {
		rows = edit(rows)
	}
	return rows
}

// Bill is a day's bill file, as the download URL serves it.
func (a *Alipay) Bill(day string) ([]byte, error) {
	rows := a.BillRows(day)
	d, _ := time.ParseInLocation(time.DateOnly, day, beijing)
	var detail, summary strings.Builder
	fmt.Fprintf(&detail, "#支付宝业务明细查询\n#账号：[%s]\n#起始日期：[%s 00:00:00]   终止日期：[%s 00:00:00]\n", "20881021196858380156",
		d.Format("2006年01月02日"), d.AddDate(0, 0, 1).Format("2006年01月02日"))
	detail.WriteString("#-----------------------------------------业务明细列表----------------------------------------\n")
	detail.WriteString("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n")
	var trades, refunds int
	var in, out, fees int64
	for _, r := range rows {
		at := r.At.In(beijing).Format("2006-01-02 15:04:05")
		kind, amount, service, req := "交易", yuan(r.Amount), "-"+yuan(r.Fee), ""
		if r.Refund {
			kind, amount, service, req = "退款", "-"+yuan(r.Amount), yuan(r.Fee), r.RefundNo
			refunds++
			out += r.Amount
			fees -= r.Fee
		} else {
			trades++
			in += r.Amount
			fees += r.Fee
		}
		// Alipay pads its fields with a tab, which spreadsheets keep as
		// text (long numbers stay whole).
		fields := []string{r.TradeNo, r.OutTradeNo, kind, csvText(r.Subject), at, at, "", "", "", "", "138****8888", amount, amount,
			"0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", req, service, "0.00", ""}
		for i, f := range fields {
			if i > 0 {
				detail.WriteString(",")
			}
			detail.WriteString(f + "\t")
		}
		detail.WriteString("\n")
	}
	detail.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\n")
	fmt.Fprintf(&detail, "#交易合计：%d笔，商家实收：%s元，商家优惠：0.00元\n#退款合计：%d笔，商家实收：-%s元，商家优惠：0.00元\n", trades, yuan(in), refunds, yuan(out))
	fmt.Fprintf(&detail, "#导出时间：[%s]\n", a.now().In(beijing).Format("2006年01月02日 15:04:05"))
	fmt.Fprintf(&summary, "#支付宝业务汇总查询\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,服务费（元）\n")
	fmt.Fprintf(&summary, "合计,,%d,%d,%s,%s,%s\n", trades, refunds, yuan(in-out), yuan(in-out), signedYuan(-fees))
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	base := "20881021196858380156_" + d.Format("20060102")
	for name, text := range map[string]string{base + "_业务明细.csv": detail.String(), base + "_业务明细(汇总).csv": summary.String()} {
		gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
		if err != nil {
			return nil, err
		}
		f, err := z.Create(name)
		if err != nil {
			return nil, err
		}
		f.Write([]byte(gbk))
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func csvText(s string) string {
	return strings.NewReplacer(",", "，", "\n", " ", "\"", "'").Replace(s)
}

func signedYuan(n int64) string {
	if n < 0 {
		return "-" + yuan(-n)
	}
	return yuan(n)
}

// WeChat Pay v3: GET /v3/bill/tradebill answers a download URL with the
// file's SHA-1; GET of that URL (signed like any request) is the bill, a
// CSV whose every field starts with a backquote, then a summary.

func (w *WeChat) tradeBill(rw http.ResponseWriter, r *http.Request) {
	if _, ok := w.read(rw, r); !ok {
		return
	}
	q := r.URL.Query()
	day := q.Get("bill_date")
	if t := q.Get("bill_type"); t != "" && t != "ALL" && t != "SUCCESS" && t != "REFUND" {
		w.fail(rw, http.StatusBadRequest, "PARAM_ERROR", "bill_type参数错误")
		return
	}
	if !validDay(day) {
		w.fail(rw, http.StatusBadRequest, "PARAM_ERROR", "bill_date参数错误")
		return
	}
	if day >= w.now().In(beijing).Format(time.DateOnly) {
		w.fail(rw, http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在")
		return
	}
	b := w.Bill(day)
	sum := sha1.Sum(b)
	tok := token()
	w.mu.Lock()
	if w.billTokens == nil {
		w.billTokens = map[string][]byte{}
	}
	w.billTokens[tok] = b
	w.mu.Unlock()
	w.reply(rw, http.StatusOK, map[string]string{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]),
		"download_url": w.url + "/v3/billdownload/file?token=" + url.QueryEscape(tok)})
}

func (w *WeChat) billFile(rw http.ResponseWriter, r *http.Request) {
	if _, ok := w.read(rw, r); !ok {
		return
	}
	w.mu.Lock()
	b, ok := w.billTokens[r.URL.Query().Get("token")]
	w.mu.Unlock()
	if !ok {
		w.fail(rw, http.StatusBadRequest, "PARAM_ERROR", "token无效")
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Write(b)
}

// BillRows are a day's movements, after BillEdit.
func (w *WeChat) BillRows(day string) []BillRow {
	w.mu.Lock()
	var trades []billTrade
	for _, t := range w.trades {
		trades = append(trades, billTrade{t.TransactionID, t.OutTradeNo, "tixgate", t.Total, t.PaidAt, t.Refunds, t.RefundedAt})
	}
	edit := w.BillEdit
	rows := billRows(day, trades)
	w.mu.Unlock()
	if edit != nil {
		rows = edit(rows)
	}
	return rows
}

// Bill is a day's trade bill (bill_type ALL).
func (w *WeChat) Bill(day string) []byte {
	rows := w.BillRows(day)
	var b strings.Builder
	b.WriteString("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n")
	var n int
	var paid, refunded, fees, total, asked int64
	for _, r := range rows {
		state, refundID, refundNo, refund, refundState := "SUCCESS", "0", "0", "0.00", ""
		settle := yuan(r.Amount)
		feeText := fmt.Sprintf("%d.%05d", r.Fee/100, r.Fee%100*1000)
		if r.Refund {
			state, refundID, refundNo, refund, refundState = "REFUND", "50000"+r.RefundNo, r.RefundNo, yuan(r.Amount), "SUCCESS"
			settle = "0.00"
			feeText = "-" + feeText
			refunded += r.Amount
			asked += r.Amount
			fees -= r.Fee
		} else {
			paid += r.Amount
			total += r.Amount
			fees += r.Fee
		}
		n++
		fields := []string{r.At.In(beijing).Format("2006-01-02 15:04:05"), w.AppID, w.MchID, "0", "", r.TradeNo, r.OutTradeNo, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
			"NATIVE", state, "OTHERS", "CNY", settle, "0.00", refundID, refundNo, refund, "0.00", "ORIGINAL", refundState, csvText(r.Subject), "",
			feeText, "0.60%", yuan(r.Amount), refund, ""}
		for i, f := range fields {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("`" + f)
		}
		b.WriteString("\n")
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`0.00,`%s,`%s,`%s\n", n, yuan(paid), yuan(refunded), fiveDecimals(fees), yuan(total), yuan(asked))
	return []byte(b.String())
}

func fiveDecimals(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%05d", sign, fen/100, fen%100*1000)
}
