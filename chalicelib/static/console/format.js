// Money, dates and SLA countdowns for people. Amounts arrive as integers in minor units.
import { locale, t } from "./i18n.js";

// ISO 4217 minor-unit exponents of the supported currencies (contract, section 1).
const EXPONENTS = { CNY: 2, HKD: 2, USD: 2, EUR: 2, JPY: 0 };

export function exponentOf(currency) {
  return EXPONENTS[currency] ?? 2;
}

/** "CNY 1,234.56" from (123456, "CNY"); exact for any integer (no floating point). */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const exponent = exponentOf(currency);
  const negative = amount < 0;
  const digits = String(Math.abs(Math.trunc(amount))).padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent) || "0";
  const fraction = exponent ? "." + digits.slice(digits.length - exponent) : "";
  const grouped = BigInt(whole).toLocaleString("en-US");
  return `${negative ? "−" : ""}${currency} ${grouped}${fraction}`;
}

/** Minor units from what an agent types ("12.5" CNY → 1250); null when it is not an amount. */
export function parseAmount(text, currency) {
  const exponent = exponentOf(currency);
  const match = String(text).trim().replace(/,/g, "").match(exponent ? /^(\d+)(?:\.(\d{1,2}))?$/ : /^(\d+)$/);
  if (!match) return null;
  const minor = Number(match[1]) * 10 ** exponent + Number((match[2] || "").padEnd(exponent, "0") || 0);
  return Number.isSafeInteger(minor) && minor > 0 ? minor : null;
}

const dateTime = () =>
  new Intl.DateTimeFormat(locale(), { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
const fullDateTime = () =>
  new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short", hour12: false });

export function shortTime(iso) {
  return iso ? dateTime().format(new Date(iso)) : "—";
}

export function longTime(iso) {
  return iso ? fullDateTime().format(new Date(iso)) : "—";
}

/** "2h 05m" / "4m 12s" / "3d 4h" for a duration in ms (sign ignored). */
export function duration(ms) {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(seconds / 86400);
  const hr = Math.floor((seconds % 86400) / 3600);
  const min = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (d) return t("time.dh", { d, h: hr });
  if (hr) return t("time.hm", { h: hr, m: pad(min) });
  if (min) return t("time.ms", { m: min, s: pad(sec) });
  return t("time.s", { s: sec });
}

/** An SLA clock: {text, level ("ok"|"soon"|"overdue"|"age")} for a deadline or, without one, an age. */
export function slaClock(due, since, now = Date.now()) {
  if (due) {
    const left = new Date(due).getTime() - now;
    if (left < 0) return { text: t("sla.overdue", { d: duration(left) }), level: "overdue" };
    return { text: t("sla.left", { d: duration(left) }), level: left < 3600_000 ? "soon" : "ok" };
  }
  if (since) return { text: t("sla.waiting", { d: duration(now - new Date(since).getTime()) }), level: "age" };
  return { text: "", level: "age" };
}

/** An id as people read it in a dense list: its type prefix and last 6 characters. */
export function shortId(id) {
  if (!id) return "—";
  const [prefix, rest] = id.includes("_") ? [id.slice(0, id.indexOf("_") + 1), id.slice(id.indexOf("_") + 1)] : ["", id];
  return rest.length > 8 ? `${prefix}…${rest.slice(-6)}` : id;
}

/** A case's status in words: a kind may word one its own way (a KYC "pending", a dispute's "open"). */
export function statusLabel(kind, status) {
  if (kind === "kyc") return t(`kycstatus.${status}`);
  const own = `status.${kind}.${status}`;
  return t(own) === own ? t(`status.${status}`) : t(own);
}
