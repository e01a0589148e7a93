// Every string the customer reads, one table per language. {name} placeholders are filled (and
// escaped) by the renderer.

export const LANGUAGES = ["en", "zh", "es"] as const;
export type Lang = (typeof LANGUAGES)[number];

const en = {
  html_lang: "en",
  title: "Payment",
  order: "Order",
  amount: "Amount",
  pay_with: "Pay with",
  send_exactly: "Send exactly",
  to_address: "To this address",
  copy_amount: "Copy amount",
  copy_address: "Copy address",
  copied: "Copied",
  warning: "Send only {asset} on the {network} network. Any other asset or network is lost.",
  time_left: "Time left",
  scan: "Scan with your wallet app",
  qr_alt: "QR code: {asset} payment to {address}",
  status_pending: "Waiting for your payment",
  status_processing: "Payment received, waiting for confirmations",
  confirmations: "{have} of {need} confirmations",
  confirmations_final: "Waiting for the block to become final",
  status_partially_paid: "Partially paid: send the remaining {amount}",
  status_paid: "Paid. Thank you!",
  status_paid_late: "Paid after the deadline. The shop has been told.",
  status_overpaid: "Paid, more than the amount due. The shop has been told.",
  status_expired: "This payment request has expired.",
  status_cancelled: "This order was cancelled.",
  paid_so_far: "Received so far",
  back_to_shop: "Back to the shop",
  wallet_pay: "Pay with a browser wallet",
  wallet_sent: "Transaction sent. Waiting for the network…",
  wallet_failed: "The wallet did not send the payment.",
  no_js: "This page refreshes itself every 15 seconds.",
  not_found: "Not found",
  language: "Language",
};

export type Strings = typeof en;

const zh: Strings = {
  html_lang: "zh-CN",
  title: "付款",
  order: "订单",
  amount: "金额",
  pay_with: "付款方式",
  send_exactly: "请准确发送",
  to_address: "收款地址",
  copy_amount: "复制金额",
  copy_address: "复制地址",
  copied: "已复制",
  warning: "只能通过 {network} 网络发送 {asset}。发送其他币种或使用其他网络将无法找回。",
  time_left: "剩余时间",
  scan: "用钱包 App 扫码",
  qr_alt: "二维码：向 {address} 支付 {asset}",
  status_pending: "等待付款",
  status_processing: "已收到付款，等待确认",
  confirmations: "已确认 {have} / {need}",
  confirmations_final: "等待区块最终确认",
  status_partially_paid: "已部分付款：请再发送 {amount}",
  status_paid: "付款成功，谢谢！",
  status_paid_late: "已在截止时间后付款，商家已收到通知。",
  status_overpaid: "已付款（超出应付金额），商家已收到通知。",
  status_expired: "此付款请求已过期。",
  status_cancelled: "此订单已取消。",
  paid_so_far: "已收到",
  back_to_shop: "返回商店",
  wallet_pay: "用浏览器钱包付款",
  wallet_sent: "交易已发送，等待网络确认…",
  wallet_failed: "钱包未发送付款。",
  no_js: "本页面每 15 秒自动刷新。",
  not_found: "未找到",
  language: "语言",
};

const es: Strings = {
  html_lang: "es",
  title: "Pago",
  order: "Pedido",
  amount: "Importe",
  pay_with: "Pagar con",
  send_exactly: "Envía exactamente",
  to_address: "A esta dirección",
  copy_amount: "Copiar importe",
  copy_address: "Copiar dirección",
  copied: "Copiado",
  warning: "Envía solo {asset} en la red {network}. Cualquier otro activo o red se pierde.",
  time_left: "Tiempo restante",
  scan: "Escanea con tu billetera",
  qr_alt: "Código QR: pago en {asset} a {address}",
  status_pending: "Esperando tu pago",
  status_processing: "Pago recibido, esperando confirmaciones",
  confirmations: "{have} de {need} confirmaciones",
  confirmations_final: "Esperando a que el bloque sea definitivo",
  status_partially_paid: "Pago parcial: envía lo que falta, {amount}",
  status_paid: "Pagado. ¡Gracias!",
  status_paid_late: "Pagado después del plazo. La tienda ha sido avisada.",
  status_overpaid: "Pagado, más de lo debido. La tienda ha sido avisada.",
  status_expired: "Esta solicitud de pago ha caducado.",
  status_cancelled: "Este pedido fue cancelado.",
  paid_so_far: "Recibido hasta ahora",
  back_to_shop: "Volver a la tienda",
  wallet_pay: "Pagar con una billetera del navegador",
  wallet_sent: "Transacción enviada. Esperando a la red…",
  wallet_failed: "La billetera no envió el pago.",
  no_js: "Esta página se actualiza sola cada 15 segundos.",
  not_found: "No encontrado",
  language: "Idioma",
};

export const STRINGS: Record<Lang, Strings> = { en, zh, es };
export const LANGUAGE_NAMES: Record<Lang, string> = { en: "English", zh: "中文", es: "Español" };

/** `?lang=` first, then Accept-Language by q-value ("zh-CN" → zh), then the configured default. */
export function pickLanguage(
  query: string | undefined,
  acceptLanguage: string | undefined,
  fallback: Lang,
): Lang {
  const known = (tag: string): Lang | undefined => {
    const base = tag.trim().toLowerCase().split("-")[0];
    return (LANGUAGES as readonly string[]).includes(base ?? "") ? (base as Lang) : undefined;
  };
  if (query) {
    const q = known(query);
    if (q) return q;
  }
  const ranked = (acceptLanguage ?? "")
    .slice(0, 500)
    .split(",")
    .map((part, i) => {
      const [tag = "", ...params] = part.split(";");
      const qp = params.find((p) => p.trim().startsWith("q="));
      const qv = qp ? Number(qp.trim().slice(2)) : 1;
      return { tag, q: Number.isFinite(qv) ? qv : 0, i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) {
    const l = known(r.tag);
    if (l) return l;
  }
  return fallback;
}

/** fill {name} placeholders; the caller escapes the result for HTML */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (m, k: string) => values[k] ?? m);
}
