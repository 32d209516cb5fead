// The customer panel beside a case: profile, KYC, balances, limits, freeze, open cases, security
// events (GET /admin/users/{id}) and recent transactions (GET /admin/users/{id}/transactions).
import { get, post } from "./api.js";
import { $, fill, h } from "./dom.js";
import { longTime, money, shortId, shortTime, statusLabel } from "./format.js";
import { t } from "./i18n.js";
import { errorText, form, toast } from "./ui.js";

let shown = null; // the user id on the panel
let openCase = () => {};

export function configureCustomer({ open }) {
  openCase = open;
}

export function customerShown() {
  return shown;
}

export async function showCustomer(userId) {
  const panel = $("#customer");
  shown = userId;
  if (!userId) {
    fill(panel, h("div", { class: "empty-state" }, h("p", { class: "muted" }, t("customer.empty"))));
    return;
  }
  fill(panel, h("div", { class: "panel-loading muted" }, t("app.loading")));
  const [profile, transactions] = await Promise.allSettled([
    get(`/admin/users/${encodeURIComponent(userId)}`),
    get(`/admin/users/${encodeURIComponent(userId)}/transactions`, { limit: 10 }),
  ]);
  if (shown !== userId) return; // another case was opened meanwhile
  fill(
    panel,
    profile.status === "fulfilled"
      ? profileView(profile.value)
      : h("section", { class: "panel-section" }, h("h3", {}, t("customer.label")), h("p", { class: "muted" }, shortId(userId)), h("p", { class: "warn" }, errorText(profile.reason))),
    transactionsView(transactions),
  );
}

function row(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function profileView(user) {
  const frozen = user.status === "frozen";
  const verified = (flag) => h("span", { class: flag ? "ok-mark" : "muted" }, flag ? "✓" : t("customer.unverified"));
  return [
    h(
      "section",
      { class: "panel-section customer-head" },
      h("div", { class: "customer-name" }, h("strong", {}, user.display_name || "—"), h("span", { class: `status status-${user.status}` }, t(`account.${user.status}`))),
      h("div", { class: "muted mono" }, user.user_id),
      h(
        "dl",
        { class: "facts" },
        row(t("customer.phone"), user.phone || "—", " ", verified(user.phone_verified)),
        row(t("customer.email"), user.email || "—", " ", verified(user.email_verified)),
        row(t("customer.kyc"), h("span", { class: `status status-${user.kyc?.status}` }, statusLabel("kyc", user.kyc?.status)), " ", t("kyc.level", { n: user.kyc?.level ?? 0 })),
        row(t("customer.mfa"), ["totp", "sms", "email"].filter((m) => user.mfa?.[m]).map((m) => t(`mfa.${m}`)).join(", ") || t("customer.none")),
        row(t("customer.locale"), user.locale || "—"),
        row(t("customer.since"), shortTime(user.created_at)),
      ),
    ),
    freezeView(user, frozen),
    h(
      "section",
      { class: "panel-section" },
      h("h3", {}, t("customer.balances")),
      (user.balances || []).length
        ? h("ul", { class: "balances" }, user.balances.map((b) => h("li", {}, h("span", { class: b.available ? "amount" : "amount zero" }, money(b.available, b.currency)))))
        : h("p", { class: "muted" }, t("customer.no_balance")),
      (user.limits || []).map((limit) =>
        h("p", { class: "limit muted" }, t("customer.limit", { window: t(`window.${limit.window}`), used: money(limit.used, "CNY"), cap: money(limit.cap, "CNY") })),
      ),
    ),
    openCasesView(user.open_cases || {}),
    h(
      "section",
      { class: "panel-section" },
      h("h3", {}, t("customer.security")),
      (user.security_events || []).length
        ? h(
            "ol",
            { class: "events" },
            user.security_events.slice(0, 20).map((event) =>
              h("li", {}, h("span", { class: `event-type event-${event.type}` }, t(`event.${event.type}`)), h("span", { class: "muted" }, [shortTime(event.at), event.device_name, event.ip].filter(Boolean).join(" · "))),
            ),
          )
        : h("p", { class: "muted" }, t("customer.no_events")),
    ),
  ];
}

function freezeView(user, frozen) {
  const act = () =>
    form({
      title: frozen ? t("freeze.unfreeze_title") : t("freeze.title"),
      intro: frozen ? t("freeze.unfreeze_intro") : t("freeze.intro"),
      fields: [{ name: "reason", label: t("freeze.reason"), type: "textarea", required: true, maxlength: 500 }],
      submitLabel: frozen ? t("freeze.unfreeze") : t("freeze.freeze"),
      danger: !frozen,
      submit: async ({ reason }) => {
        await post(`/admin/users/${encodeURIComponent(user.user_id)}/${frozen ? "unfreeze" : "freeze"}`, { reason });
        toast(frozen ? t("freeze.unfrozen") : t("freeze.frozen"), "success");
        showCustomer(user.user_id);
      },
    });
  return h(
    "section",
    { class: `panel-section freeze${frozen ? " is-frozen" : ""}` },
    frozen && user.freeze
      ? h("p", {}, h("strong", {}, t("freeze.frozen_since", { at: longTime(user.freeze.at) })), h("br"), t("freeze.by_reason", { by: t(`freeze.by_${user.freeze.by}`), reason: user.freeze.reason }))
      : null,
    h("button", { type: "button", class: frozen ? "ghost small" : "danger-ghost small", onclick: act }, frozen ? t("freeze.unfreeze") : t("freeze.freeze")),
  );
}

function openCasesView(cases) {
  const links = [];
  for (const [kind, ids] of [["dispute", cases.disputes], ["ticket", cases.tickets], ["chat", cases.chats]]) {
    for (const id of ids || []) {
      links.push(h("li", {}, h("button", { type: "button", class: "link", onclick: () => openCase(kind, id) }, `${t(`kind.${kind}`)} ${shortId(id)}`)));
    }
  }
  return h("section", { class: "panel-section" }, h("h3", {}, t("customer.open_cases")), links.length ? h("ul", { class: "case-links" }, links) : h("p", { class: "muted" }, t("customer.none")));
}

function transactionsView(result) {
  const body =
    result.status !== "fulfilled"
      ? h("p", { class: "warn" }, errorText(result.reason))
      : (result.value.data || []).length
        ? h(
            "table",
            { class: "transactions" },
            h("tbody", {}, result.value.data.map((tx) =>
              h(
                "tr",
                { title: tx.transaction_id },
                h("td", { class: "muted" }, shortTime(tx.created_at)),
                h("td", {}, t(`txtype.${tx.type}`), h("div", { class: "muted small" }, tx.counterparty?.name || tx.counterparty?.masked_name || (tx.counterparty?.last4 ? `•••• ${tx.counterparty.last4}` : tx.description || ""))),
                h("td", { class: `amount ${tx.direction}` }, `${tx.direction === "debit" ? "−" : "+"}${money(tx.amount, tx.currency)}`),
              ),
            )),
          )
        : h("p", { class: "muted" }, t("customer.no_transactions"));
  return h("section", { class: "panel-section" }, h("h3", {}, t("customer.transactions")), body);
}
