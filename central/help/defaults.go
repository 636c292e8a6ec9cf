package help

// defaults are the articles a new central starts with; staff edit them.
var defaults = []struct {
	slug, topic string
	pos         int
	en, zh      [2]string // title, markdown
}{
	{"how-to-buy", "buying", 1,
		[2]string{"How to buy tickets", "1. Open the event and choose how many tickets of each type you want.\n2. Enter a promotion code if you have one: the price shown is the price you pay.\n3. Log in with your email or your phone number, and check out. The tickets are held for you for 15 minutes while you pay.\n4. Once paid, your tickets are in **My tickets**, and a confirmation comes by email or text message.\n\nSold out? Join the waiting list: when a ticket comes back, the first in line gets a link to buy it."},
		[2]string{"如何购票", "1. 打开活动页面，选择每种票的数量。\n2. 如有优惠码，请填写：页面显示的价格就是你支付的价格。\n3. 用邮箱或手机号登录并结账。付款期间，票会为你保留 15 分钟。\n4. 付款后，票在 **我的票** 中，确认信息会通过邮件或短信发送。\n\n售罄了？加入候补名单：有票退回时，排在最前的人会收到购票链接。"}},
	{"payment", "buying", 2,
		[2]string{"Paying", "You can pay by card, Alipay, WeChat Pay or UnionPay where the event offers them, or at the box office. We never see or keep your card number. If a payment arrives after your hold ran out and the tickets are gone, it is refunded automatically."},
		[2]string{"付款", "可使用活动支持的银行卡、支付宝、微信支付或银联付款，也可在售票处付款。我们不会看到也不会保存你的卡号。如果付款在保留时间结束后到账且票已售完，款项会自动退回。"}},
	{"refunds", "refunds", 1,
		[2]string{"Refunds and exchanges", "Open the order in **My orders** to see what a refund would pay back before you confirm it: the fee depends on the event's rules and on how long before the event you ask. A refunded ticket stops working at the gates at once. Where the event allows it, you can exchange a ticket for another day or type and pay or get back the difference."},
		[2]string{"退票与换票", "在 **我的订单** 中打开订单，可在确认前看到退款金额：手续费取决于活动规则和距活动开始的时间。退票后，该票在闸口立即失效。活动允许时，可将票换成其他日期或票种，补差价或退还差额。"}},
	{"at-the-gate", "entry", 1,
		[2]string{"At the gate", "Show the QR code of each ticket at the turnstile: on your phone (it works without signal: open **My tickets** once before you leave) or printed. Each ticket lets in one person. Brightness up helps the scanner. The entry rules of each event are listed below."},
		[2]string{"入场", "在闸机处出示每张票的二维码：手机上（无信号也可使用：出发前请先打开一次 **我的票**）或打印出来均可。每张票限一人入场。调高屏幕亮度便于扫码。各活动的入场规则见下方。"}},
	{"accessibility", "accessibility", 1,
		[2]string{"Accessibility", "Every venue has a step-free entrance; ask the staff at any gate and they will take you there. A companion ticket for a person who needs assistance is free on request at the box office. These pages work with screen readers and at any text size."},
		[2]string{"无障碍服务", "每个场馆都有无台阶入口；请向任一闸口的工作人员询问，他们会带你前往。需要协助的人士的陪同票可在售票处免费申领。本网站支持读屏软件和任意字号。"}},
	{"event-details", "events", 1,
		[2]string{"Event details", "Each event's page says when the doors open, where the venue is and which zones each ticket type admits. If an event is moved or cancelled, every buyer is told by email or text and can choose a refund or an exchange."},
		[2]string{"活动信息", "每个活动页面都写明开门时间、场馆地址以及各票种可进入的区域。如活动改期或取消，每位购票者都会收到邮件或短信通知，可选择退票或换票。"}},
}
