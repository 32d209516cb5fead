// The case view: one chat, ticket, dispute or KYC case with its thread and the actions an agent
// takes on it. Every action is a REST call; the view re-reads the case after each one.
import { ApiError, get, newIdempotencyKey, post } from "./api.js";
import { sendTyping } from "./chat.js";
import { showCustomer } from "./customer.js";
import { $, fill, h } from "./dom.js";
import { longTime, money, parseAmount, shortTime, statusLabel } from "./format.js";
import { t } from "./i18n.js";
import { chatItem, disputeItem, kycItem, remove, select, ticketItem, tick, upsert } from "./queue.js";
import { errorText, form, showError, toast } from "./ui.js";

const DOCUMENT_KINDS = ["id_front", "id_back", "selfie", "proof_of_address"];
const TYPING_SHOWN_MS = 5000;

let me = null;
let current = null; // {kind, id, data, item}
let typingTimer = null;

export function configureCase({ agent }) {
  me = agent;
}

export function currentCase() {
  return current;
}

const loaders = {
  chat: (id) => get(`/admin/chats/${encodeURIComponent(id)}`),
  ticket: (id) => get(`/admin/tickets/${encodeURIComponent(id)}`),
  dispute: (id) => get(`/admin/disputes/${encodeURIComponent(id)}`),
  kyc: (id) => get(`/admin/kyc/${encodeURIComponent(id)}`),
};
const toItem = { chat: chatItem, ticket: ticketItem, dispute: disputeItem, kyc: kycItem };

/** Open a case from the queue (an item) or by kind and id (a link in the customer panel). */
export async function openCase(item) {
  const { kind, id } = item;
  const main = $("#case");
  current = { kind, id, data: item.raw || null, item };
  fill(main, h("div", { class: "panel-loading muted" }, t("app.loading")));
  let data = item.raw || null;
  try {
    data = { ...(item.raw || {}), ...(await loaders[kind](id)) };
  } catch (error) {
    if (!(error instanceof ApiError) || !data || error.status === 401) {
      fill(main, h("div", { class: "empty-state" }, h("p", { class: "warn" }, errorText(error))));
      return;
    }
    // The list entry still has what the queue knows; the thread is what is missing.
    toast(errorText(error), "error");
  }
  if (current.id !== id) return;
  current.data = data;
  render();
  showCustomer(data.user_id || item.userId || (kind === "kyc" ? id : null));
}

/** Read the open case again (after an action or a reconnect) and redraw it. */
export async function reloadCase() {
  if (!current) return;
  const { kind, id } = current;
  try {
    const data = await loaders[kind](id);
    if (!current || current.id !== id) return;
    current.data = { ...current.data, ...data };
    upsert(toItem[kind](current.data));
    render({ keepDraft: true });
  } catch (error) {
    showError(error);
  }
}

// --- rendering ---------------------------------------------------------------------------------

function render({ keepDraft = false } = {}) {
  const main = $("#case");
  const draft = keepDraft ? $("#reply")?.value : "";
  const note = keepDraft ? $("#reply-internal")?.checked : false;
  const { kind, data } = current;
  const view = { chat: chatView, ticket: ticketView, dispute: disputeView, kyc: kycView }[kind](data);
  fill(main, view);
  const reply = $("#reply");
  if (reply && draft) reply.value = draft;
  if ($("#reply-internal")) $("#reply-internal").checked = Boolean(note);
  updateComposerMode();
  const thread = $(".thread", main);
  if (thread) thread.scrollTop = thread.scrollHeight;
  tick();
}

function header(kind, title, id, status, clocks, extra = []) {
  return h(
    "header",
    { class: "case-head" },
    h(
      "div",
      { class: "case-title" },
      h("span", { class: `kind-badge kind-${kind}` }, t(`kind.${kind}`)),
      h("h2", {}, title),
      h("span", { class: `status status-${status}` }, statusLabel(kind, status)),
    ),
    h(
      "div",
      { class: "case-meta" },
      h("span", { class: "mono muted", title: id }, id),
      clocks.map(([label, due, since]) => h("span", { class: "clock" }, h("span", { class: "muted" }, label), " ", h("span", { class: "sla", dataset: { due: due || "", since: since || "" } }))),
      extra,
    ),
  );
}

function actions(...buttons) {
  return h("div", { class: "case-actions" }, buttons.filter(Boolean));
}

function button(label, onclick, { kind = "ghost", key, disabled = false } = {}) {
  return h("button", { type: "button", class: kind, onclick, disabled, "aria-keyshortcuts": key }, label, key ? h("kbd", {}, key) : null);
}

function thread(messages, extraTop = null) {
  const items = messages.map((message) =>
    h(
      "li",
      { class: `msg from-${message.who}${message.internal ? " internal" : ""}`, dataset: { seq: message.seq ?? "" } },
      h("div", { class: "msg-meta" }, h("strong", {}, message.name), message.internal ? h("span", { class: "note-tag" }, t("chat.internal")) : null, h("time", { datetime: message.at, title: longTime(message.at) }, shortTime(message.at))),
      h("div", { class: "msg-body" }, message.body),
    ),
  );
  return h("ol", { class: "thread", "aria-live": "polite" }, extraTop, items);
}

function who(author, name) {
  if (author === "agent") return name || t("thread.agent");
  if (author === "system") return t("thread.system");
  return t("thread.customer");
}

/** The reply box. `send(body, internal)` posts; then the box empties and (unless `reload` is false) the case is read again. */
function composer({ placeholder, send, note = false, disabled = false, disabledText = "", reload = true }) {
  const textarea = h("textarea", { id: "reply", rows: 3, placeholder, "aria-label": placeholder, disabled, maxlength: 5000 });
  const submit = h("button", { type: "submit", class: "primary", disabled }, t("action.send"), h("kbd", {}, "Ctrl↵"));
  const formNode = h(
    "form",
    { class: "composer", id: "composer" },
    disabled && disabledText ? h("p", { class: "muted composer-hint" }, disabledText) : null,
    textarea,
    h(
      "div",
      { class: "composer-bar" },
      note ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "reply-internal", onchange: updateComposerMode }), t("chat.internal_note"), h("kbd", {}, "n")) : h("span"),
      h("span", { class: "muted small" }, t("composer.hint")),
      submit,
    ),
  );
  const sendNow = async () => {
    const body = textarea.value.trim();
    if (!body || submit.disabled) return;
    submit.disabled = true;
    try {
      await send(body, Boolean($("#reply-internal")?.checked));
    } catch (error) {
      submit.disabled = false;
      return showError(error);
    }
    textarea.value = ""; // before the case is drawn again, which keeps a draft
    submit.disabled = false;
    if (reload) await reloadCase();
    $("#reply")?.focus();
  };
  formNode.addEventListener("submit", (event) => {
    event.preventDefault();
    sendNow();
  });
  textarea.addEventListener("keydown", (event) => {
    const chatEnter = current?.kind === "chat" && event.key === "Enter" && !event.shiftKey && !event.isComposing;
    if ((event.key === "Enter" && (event.ctrlKey || event.metaKey)) || chatEnter) {
      event.preventDefault();
      sendNow();
    } else if (event.key === "Escape") {
      textarea.blur();
    }
  });
  textarea.addEventListener("input", () => {
    if (current?.kind === "chat" && !$("#reply-internal")?.checked && textarea.value) sendTyping(current.id);
  });
  return formNode;
}

function updateComposerMode() {
  const internal = $("#reply-internal")?.checked;
  $("#composer")?.classList.toggle("is-internal", Boolean(internal));
  const reply = $("#reply");
  if (reply && current?.kind === "chat") reply.placeholder = internal ? t("chat.note_placeholder") : t("chat.reply_placeholder");
}

// --- chat --------------------------------------------------------------------------------------

function chatMessages(chat) {
  return (chat.messages || []).map((m) => ({ who: m.sender, name: who(m.sender, m.agent_name), body: m.body, at: m.sent_at, internal: m.internal, seq: m.seq }));
}

function chatView(chat) {
  const mine = chat.assignee && chat.assignee.agent_id === me.user_id;
  const waiting = chat.status === "waiting";
  const active = chat.status === "active";
  return [
    header(
      "chat",
      t(`category.${chat.category || "other"}`),
      chat.chat_id,
      chat.status,
      waiting ? [[t("sla.to_ticket"), chatItem(chat).due, null]] : [[t("sla.started"), null, chat.created_at]],
      chat.assignee ? h("span", {}, t("queue.with", { name: chat.assignee.display_name })) : null,
    ),
    actions(
      waiting ? button(t("chat.accept"), acceptChat, { kind: "primary", key: "a" }) : null,
      chat.status !== "resolved" && (mine || waiting) ? button(t("chat.resolve"), resolveChat) : null,
      active && mine ? button(t("chat.to_ticket"), chatToTicket) : null,
      chat.ticket_id ? h("span", { class: "muted" }, t("chat.ticket", { id: chat.ticket_id })) : null,
    ),
    thread(chatMessages(chat)),
    h("div", { class: "typing", id: "typing", hidden: true }, h("span", { class: "dots" }), t("chat.typing")),
    composer({
      placeholder: t("chat.reply_placeholder"),
      note: true,
      disabled: !(active && mine),
      disabledText: waiting ? t("chat.accept_first") : active ? t("chat.not_yours") : t("chat.closed"),
      reload: false, // the message is added as it comes back; the socket brings the rest
      send: async (body, internal) => {
        const message = await post(`/admin/chats/${encodeURIComponent(chat.chat_id)}/messages`, { body, internal }, { idempotencyKey: newIdempotencyKey() });
        addChatMessage(chat.chat_id, message.message || message);
      },
    }),
  ];
}

async function acceptChat() {
  const { id } = current;
  try {
    const reply = await post(`/admin/chats/${encodeURIComponent(id)}/accept`);
    toast(t("chat.accepted"), "success");
    current.data = { ...current.data, ...(reply.chat || reply) };
    upsert(chatItem(current.data));
    await reloadCase();
    $("#reply")?.focus();
  } catch (error) {
    showError(error);
    if (error.code === "chat_taken") reloadCase();
  }
}

async function resolveChat() {
  try {
    const reply = await post(`/admin/chats/${encodeURIComponent(current.id)}/resolve`);
    toast(t("chat.resolved"), "success");
    current.data = { ...current.data, ...(reply.chat || reply) };
    upsert(chatItem(current.data));
    render();
  } catch (error) {
    showError(error);
  }
}

async function chatToTicket() {
  try {
    const reply = await post(`/admin/chats/${encodeURIComponent(current.id)}/to-ticket`);
    const ticket = reply.ticket || reply;
    toast(t("chat.converted", { id: ticket.ticket_id }), "success");
    await reloadCase();
  } catch (error) {
    showError(error);
  }
}

/** A message for the open chat (from the REST reply or a frame): appended once, in seq order. */
export function addChatMessage(chatId, message) {
  if (!current || current.kind !== "chat" || current.id !== chatId || !message) return false;
  const messages = current.data.messages || (current.data.messages = []);
  const duplicate = messages.some((m) =>
    message.seq != null ? m.seq === message.seq : m.seq == null && m.body === message.body && m.sent_at === message.sent_at,
  );
  if (duplicate) return true;
  const lastSeq = Math.max(0, ...messages.map((m) => m.seq || 0));
  if (message.seq != null && message.seq > lastSeq + 1) {
    reloadCase(); // a gap: something was missed, read the chat again
    return true;
  }
  messages.push(message);
  if (message.seq != null) current.data.last_seq = Math.max(current.data.last_seq || 0, message.seq);
  const list = $("#case .thread");
  if (list) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const [node] = thread(chatMessages({ messages: [message] })).children;
    list.append(node);
    if (atBottom || message.sender !== "user") list.scrollTop = list.scrollHeight;
  }
  if (message.sender === "user") hideTyping();
  return true;
}

export function chatUpdated(chat) {
  if (!current || current.kind !== "chat" || current.id !== chat.chat_id) return;
  const changed = current.data.status !== chat.status || current.data.assignee?.agent_id !== chat.assignee?.agent_id;
  current.data = { ...current.data, ...chat, messages: current.data.messages };
  if (changed) render({ keepDraft: true });
}

export function showTyping(chatId) {
  if (!current || current.kind !== "chat" || current.id !== chatId) return;
  const line = $("#typing");
  if (!line) return;
  line.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function hideTyping() {
  const line = $("#typing");
  if (line) line.hidden = true;
}

// --- ticket ------------------------------------------------------------------------------------

function ticketView(ticket) {
  const messages = (ticket.messages || []).map((m) => ({ who: m.author, name: who(m.author, m.author_id === me.user_id ? t("thread.you") : null), body: m.body, at: m.created_at }));
  const statuses = ["open", "pending", "solved", "closed"];
  return [
    header(
      "ticket",
      ticket.subject,
      ticket.ticket_id,
      ticket.status,
      ticket.status === "quarantined" ? [] : ticket.first_responded_at ? [[t("sla.first_reply"), null, null]] : [[t("sla.first_reply_due"), ticket.first_response_due, null]],
      [
        h("span", {}, t(`category.${ticket.category}`)),
        ticket.source ? h("span", {}, t(`source.${ticket.source}`)) : null,
        ticket.requester_email ? h("span", { class: ticket.verified_sender === false ? "warn" : "" }, ticket.requester_email, ticket.verified_sender === false ? ` (${t("ticket.unverified")})` : "") : null,
        ticket.transaction_id ? h("span", { class: "mono" }, ticket.transaction_id) : null,
        ticket.escalated ? h("span", { class: "flag" }, t("sla.escalated")) : null,
      ],
    ),
    actions(
      h("span", { class: "muted" }, t("ticket.set_status")),
      h(
        "div",
        { class: "segmented", role: "group" },
        statuses.map((status) =>
          h("button", { type: "button", "aria-pressed": ticket.status === status ? "true" : "false", onclick: () => setTicketStatus(status) }, t(`status.${status}`)),
        ),
      ),
    ),
    thread(messages),
    composer({
      placeholder: t("ticket.reply_placeholder"),
      send: async (body) => {
        await post(`/admin/tickets/${encodeURIComponent(ticket.ticket_id)}/messages`, { body }, { idempotencyKey: newIdempotencyKey() });
        toast(t("ticket.replied"), "success");
      },
    }),
  ];
}

async function setTicketStatus(status) {
  try {
    await post(`/admin/tickets/${encodeURIComponent(current.id)}/status`, { status });
    toast(t("ticket.status_set", { status: t(`status.${status}`) }), "success");
    await reloadCase();
  } catch (error) {
    showError(error);
  }
}

// --- dispute -----------------------------------------------------------------------------------

function disputeView(dispute) {
  const closed = ["refunded", "rejected", "withdrawn"].includes(dispute.status);
  const mine = dispute.assignee === me.user_id;
  const messages = (dispute.messages || []).map((m) => ({ who: m.author, name: who(m.author, m.author_id === me.user_id ? t("thread.you") : null), body: m.body, at: m.created_at }));
  const clocks = dispute.agent_replied_at ? [[t("sla.resolve_by"), dispute.resolve_by, null]] : [[t("sla.respond_by"), dispute.respond_by, null]];
  return [
    header("dispute", `${t(`reason.${dispute.reason}`)} · ${money(dispute.amount, dispute.currency)}`, dispute.dispute_id, dispute.status, dispute.status === "awaiting_approval" || closed ? [] : clocks, [
      h("span", {}, t("dispute.transaction"), " ", h("span", { class: "mono" }, dispute.transaction_id)),
      dispute.assignee ? h("span", {}, mine ? t("queue.mine") : t("queue.assigned")) : h("span", { class: "warn" }, t("queue.unassigned")),
      dispute.escalated ? h("span", { class: "flag" }, t("sla.escalated")) : null,
    ]),
    actions(
      !closed && !mine ? button(t("dispute.assign_me"), assignDispute, { key: "a" }) : null,
      !closed && dispute.status !== "awaiting_approval" ? button(t("dispute.refund"), () => resolveDispute("refunded", dispute), { kind: "primary" }) : null,
      !closed && dispute.status !== "awaiting_approval" ? button(t("dispute.reject"), () => resolveDispute("rejected", dispute), { kind: "danger-ghost" }) : null,
      !closed ? button(t("dispute.extend"), () => extendDispute(dispute)) : null,
      dispute.status === "awaiting_approval" ? button(t("dispute.approve"), approveRefund, { kind: "primary" }) : null,
      dispute.refund_amount ? h("span", {}, t("dispute.refunded_amount", { amount: money(dispute.refund_amount, dispute.currency) })) : null,
    ),
    thread(messages, h("li", { class: "msg from-user case-description" }, h("div", { class: "msg-meta" }, h("strong", {}, t("dispute.description")), h("time", {}, shortTime(dispute.created_at))), h("div", { class: "msg-body" }, dispute.description || "—"))),
    closed
      ? h("p", { class: "muted composer-hint" }, dispute.resolution_note ? t("dispute.closed_note", { note: dispute.resolution_note }) : t("dispute.closed"))
      : composer({
          placeholder: t("dispute.reply_placeholder"),
          send: async (body) => {
            await post(`/admin/disputes/${encodeURIComponent(dispute.dispute_id)}/messages`, { body }, { idempotencyKey: newIdempotencyKey() });
            toast(t("dispute.replied"), "success");
          },
        }),
  ];
}

async function assignDispute() {
  try {
    await post(`/admin/disputes/${encodeURIComponent(current.id)}/assign`, {});
    toast(t("dispute.assigned"), "success");
    await reloadCase();
  } catch (error) {
    showError(error);
  }
}

function resolveDispute(outcome, dispute) {
  const refund = outcome === "refunded";
  const fields = [];
  if (refund) fields.push({ name: "amount", label: t("dispute.refund_amount", { currency: dispute.currency }), value: money(dispute.amount, dispute.currency).split(" ")[1], inputmode: "decimal", required: true });
  fields.push({ name: "note", label: t("dispute.note"), type: "textarea", required: true, maxlength: 1000 });
  return form({
    title: refund ? t("dispute.refund_title") : t("dispute.reject_title"),
    intro: refund ? t("dispute.refund_intro") : t("dispute.reject_intro"),
    fields,
    submitLabel: refund ? t("dispute.refund") : t("dispute.reject"),
    danger: !refund,
    submit: async ({ amount, note }) => {
      const body = { outcome, note };
      if (refund) {
        const minor = parseAmount(amount, dispute.currency);
        if (minor === null) throw new Error(t("dispute.bad_amount"));
        body.refund_amount = minor;
      }
      // A new key for this attempt; the client's own retries (503, network) reuse it.
      const reply = await post(`/admin/disputes/${encodeURIComponent(dispute.dispute_id)}/resolve`, body, { idempotencyKey: newIdempotencyKey() });
      const result = reply.dispute || reply;
      toast(result.status === "awaiting_approval" ? t("dispute.awaiting_approval") : t(`dispute.resolved_${outcome}`), "success");
      await reloadCase();
    },
  });
}

function extendDispute(dispute) {
  const suggested = new Date(Date.now() + 7 * 86400_000);
  suggested.setMinutes(suggested.getMinutes() - suggested.getTimezoneOffset());
  return form({
    title: t("dispute.extend_title"),
    intro: t("dispute.extend_intro"),
    fields: [
      { name: "resolve_by", label: t("dispute.resolve_by"), type: "datetime-local", value: suggested.toISOString().slice(0, 16), required: true },
      { name: "reason", label: t("dispute.extend_reason"), type: "textarea", required: true, maxlength: 1000 },
    ],
    submitLabel: t("dispute.extend"),
    submit: async ({ resolve_by, reason }) => {
      await post(`/admin/disputes/${encodeURIComponent(dispute.dispute_id)}/extend`, { reason, resolve_by: new Date(resolve_by).toISOString() });
      toast(t("dispute.extended"), "success");
      await reloadCase();
    },
  });
}

async function approveRefund() {
  try {
    await post(`/admin/disputes/${encodeURIComponent(current.id)}/approve`);
    toast(t("dispute.approved"), "success");
    await reloadCase();
  } catch (error) {
    showError(error);
  }
}

// --- KYC ---------------------------------------------------------------------------------------

function kycView(kyc) {
  const documents = kyc.documents || [];
  const history = kyc.history || kyc.decisions || [];
  const pending = kyc.status === "pending";
  return [
    header("kyc", `${kyc.real_name || "—"} · ${t("kyc.level_to", { from: kyc.level, to: kyc.target_level })}`, kyc.user_id, kyc.status, [[t("sla.submitted"), null, kyc.submitted_at]]),
    actions(
      pending ? button(t("kyc.approve"), () => decideKyc("approve", kyc), { kind: "primary", key: "a" }) : null,
      pending ? button(t("kyc.request_documents"), () => decideKyc("request_documents", kyc)) : null,
      pending ? button(t("kyc.reject"), () => decideKyc("reject", kyc), { kind: "danger-ghost" }) : null,
    ),
    h(
      "div",
      { class: "case-body" },
      h(
        "dl",
        { class: "facts kyc-facts" },
        [h("dt", {}, t("kyc.real_name")), h("dd", {}, kyc.real_name || "—")],
        [h("dt", {}, t("kyc.id_type")), h("dd", {}, kyc.id_type ? t(`idtype.${kyc.id_type}`) : "—")],
        [h("dt", {}, t("kyc.id_number")), h("dd", { class: "mono" }, kyc.id_last4 ? `•••• ${kyc.id_last4}` : "—")],
        [h("dt", {}, t("kyc.nationality")), h("dd", {}, kyc.nationality || "—")],
        [h("dt", {}, t("kyc.birth_date")), h("dd", {}, kyc.birth_date || "—")],
        [h("dt", {}, t("kyc.submitted")), h("dd", {}, longTime(kyc.submitted_at))],
      ),
      h("h3", {}, t("kyc.documents")),
      documents.length
        ? h("div", { class: "documents" }, documents.map(documentView))
        : h("p", { class: "muted" }, t("kyc.no_documents")),
      history.length
        ? [
            h("h3", {}, t("kyc.history")),
            h("ol", { class: "events" }, history.map((entry) => h("li", {}, h("span", {}, t(`kyc.decision_${entry.decision}`) , entry.level ? ` · ${t("kyc.level", { n: entry.level })}` : ""), h("span", { class: "muted" }, [shortTime(entry.at || entry.decided_at), entry.reason].filter(Boolean).join(" · "))))),
          ]
        : null,
    ),
  ];
}

function documentView(document_) {
  const label = document_.kind ? t(`doc.${document_.kind}`) : document_.document_id;
  if (!document_.download_url) return h("figure", { class: "document missing" }, h("div", { class: "doc-missing" }, t("kyc.doc_missing")), h("figcaption", {}, label));
  const image = (document_.content_type || "").startsWith("image/");
  return h(
    "figure",
    { class: "document" },
    h(
      "a",
      { href: document_.download_url, target: "_blank", rel: "noopener noreferrer", title: t("kyc.open_document") },
      image ? h("img", { src: document_.download_url, alt: label, loading: "lazy" }) : h("div", { class: "doc-file" }, "PDF"),
    ),
    h("figcaption", {}, label),
  );
}

function decideKyc(decision, kyc) {
  const fields = [];
  if (decision === "approve") {
    fields.push({ name: "level", label: t("kyc.approve_level"), type: "select", value: kyc.target_level || 1, options: [1, 2, 3].map((n) => [String(n), t("kyc.level", { n })]) });
  } else {
    if (decision === "request_documents") fields.push({ name: "documents", label: t("kyc.which_documents"), type: "checkboxes", options: DOCUMENT_KINDS.map((kind) => [kind, t(`doc.${kind}`)]), value: [] });
    fields.push({ name: "reason", label: t("kyc.reason"), type: "textarea", required: true, maxlength: 500, hint: t("kyc.reason_hint") });
  }
  return form({
    title: t(`kyc.${decision}_title`),
    intro: t("kyc.decision_intro", { name: kyc.real_name || kyc.user_id }),
    fields,
    submitLabel: t(`kyc.${decision}`),
    danger: decision === "reject",
    submit: async (values) => {
      const body = { decision };
      if (decision === "approve") body.level = Number(values.level);
      else body.reason = values.reason;
      if (decision === "request_documents") {
        if (!values.documents.length) throw new Error(t("kyc.pick_documents"));
        body.documents = values.documents;
      }
      await post(`/admin/kyc/${encodeURIComponent(kyc.user_id)}/decision`, body);
      toast(t(`kyc.done_${decision}`, { name: kyc.real_name || "" }), "success");
      const key = `kyc:${kyc.user_id}`;
      current.data = { ...current.data, status: decision === "approve" ? "approved" : decision === "reject" ? "rejected" : "needs_documents" };
      render();
      remove(key);
      select(null, { focus: false });
      showCustomer(kyc.user_id);
    },
  });
}

// --- keyboard helpers --------------------------------------------------------------------------

export function focusReply() {
  const reply = $("#reply");
  if (reply && !reply.disabled) {
    reply.focus();
    return true;
  }
  return false;
}

export function toggleNote() {
  const box = $("#reply-internal");
  if (!box) return;
  box.checked = !box.checked;
  updateComposerMode();
  focusReply();
}

/** The `a` key: accept a chat, take a dispute, approve a KYC case. */
export function primaryAction() {
  const target = $("#case [aria-keyshortcuts='a']");
  if (target && !target.disabled) target.click();
}
