// One queue across waiting chats, tickets, disputes and KYC cases, most urgent first, with live
// SLA clocks. Each source loads on its own: a source that fails shows as unavailable, the rest work.
import { ApiError, allPages } from "./api.js";
import { $, fill, h } from "./dom.js";
import { money, shortId, slaClock, statusLabel } from "./format.js";
import { t } from "./i18n.js";

export const KINDS = ["chat", "ticket", "dispute", "kyc"];
const CHAT_TO_TICKET_MS = 10 * 60 * 1000; // job chat_queue: a chat waiting 10 minutes becomes a ticket

const state = { items: new Map(), order: [], filter: "all", selected: null, failed: new Set(), me: null };
let onOpen = () => {};

export function configureQueue({ me, open }) {
  state.me = me;
  onOpen = open;
}

// --- normalising each source into a queue item -------------------------------------------------

export function chatItem(chat) {
  const waiting = chat.status === "waiting";
  const due = waiting && chat.waiting_since ? new Date(new Date(chat.waiting_since).getTime() + CHAT_TO_TICKET_MS).toISOString() : null;
  return {
    key: `chat:${chat.chat_id}`,
    kind: "chat",
    id: chat.chat_id,
    userId: chat.user_id || null,
    title: t(`category.${chat.category || "other"}`),
    detail: chat.assignee ? t("queue.with", { name: chat.assignee.display_name }) : t("queue.unassigned"),
    status: chat.status,
    due,
    since: chat.waiting_since || chat.created_at,
    unread: chat.unread || 0,
    raw: chat,
  };
}

export function ticketItem(ticket) {
  const answered = Boolean(ticket.first_responded_at);
  return {
    key: `ticket:${ticket.ticket_id}`,
    kind: "ticket",
    id: ticket.ticket_id,
    userId: ticket.user_id || null,
    title: ticket.subject,
    detail: [t(`category.${ticket.category}`), ticket.source ? t(`source.${ticket.source}`) : null, ticket.verified_sender === false ? t("ticket.unverified") : null]
      .filter(Boolean)
      .join(" · "),
    status: ticket.status,
    due: answered || ticket.status === "quarantined" ? null : ticket.first_response_due, // quarantine runs no SLA
    since: ticket.created_at,
    escalated: ticket.escalated,
    raw: ticket,
  };
}

export function disputeItem(dispute) {
  const answered = Boolean(dispute.agent_replied_at);
  return {
    key: `dispute:${dispute.dispute_id}`,
    kind: "dispute",
    id: dispute.dispute_id,
    userId: dispute.user_id || null,
    title: `${money(dispute.amount, dispute.currency)} · ${t(`reason.${dispute.reason}`)}`,
    detail: [t(`txtype.${dispute.transaction_type}`), dispute.assignee ? (dispute.assignee === state.me?.user_id ? t("queue.mine") : t("queue.assigned")) : t("queue.unassigned")]
      .filter((part) => part && !part.startsWith("txtype."))
      .join(" · "),
    status: dispute.status,
    due: answered ? dispute.resolve_by || null : dispute.respond_by,
    since: dispute.created_at,
    escalated: dispute.escalated,
    raw: dispute,
  };
}

export function kycItem(kyc) {
  return {
    key: `kyc:${kyc.user_id}`,
    kind: "kyc",
    id: kyc.user_id,
    userId: kyc.user_id,
    title: `${kyc.real_name || "—"} · ${t("kyc.level_to", { from: kyc.level, to: kyc.target_level })}`,
    detail: [kyc.id_type ? t(`idtype.${kyc.id_type}`) : null, kyc.id_last4 ? `…${kyc.id_last4}` : null, t("kyc.documents_count", { n: (kyc.documents || []).length })]
      .filter(Boolean)
      .join(" · "),
    status: kyc.status,
    due: null,
    since: kyc.submitted_at,
    raw: kyc,
  };
}

// --- loading ------------------------------------------------------------------------------------

const SOURCES = {
  chat: async () => {
    const [waiting, mine] = await Promise.all([allPages("/admin/chats", { status: "waiting" }), allPages("/admin/chats", { status: "active", mine: "true" })]);
    return [...waiting, ...mine].map(chatItem);
  },
  ticket: async () => {
    // Quarantined email (spam, DMARC reject) sits under the tickets too, for an agent to release or close.
    const [active, quarantined] = await Promise.all([allPages("/admin/tickets"), allPages("/admin/tickets", { status: "quarantined" })]);
    return [...active, ...quarantined].map(ticketItem);
  },
  dispute: async () => {
    const open = await allPages("/admin/disputes");
    let approvals = [];
    try {
      approvals = await allPages("/admin/disputes", { status: "awaiting_approval" });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) throw error; // a stage without four-eyes refunds
    }
    return [...open, ...approvals].map(disputeItem);
  },
  kyc: async () => (await allPages("/admin/kyc", { status: "pending" })).map(kycItem),
};

export async function loadQueue() {
  const results = await Promise.allSettled(KINDS.map((kind) => SOURCES[kind]()));
  const items = new Map();
  results.forEach((result, index) => {
    const kind = KINDS[index];
    if (result.status === "fulfilled") {
      state.failed.delete(kind);
      for (const item of result.value) items.set(item.key, item);
    } else {
      state.failed.add(kind);
      for (const [key, item] of state.items) if (item.kind === kind) items.set(key, item); // keep what we had
      if (result.reason instanceof ApiError && result.reason.status === 401) throw result.reason;
    }
  });
  state.items = items;
  render();
  return state.failed;
}

/** Add or update one item (a live frame, or the case just changed). Items no longer in a queue state leave it. */
export function upsert(item) {
  const closed = ["resolved", "solved", "closed", "refunded", "rejected", "withdrawn", "approved"].includes(item.status);
  const mineActive = item.kind === "chat" && item.status === "active" && item.raw.assignee && item.raw.assignee.agent_id === state.me?.user_id;
  if (closed || (item.kind === "chat" && item.status === "active" && !mineActive)) {
    if (state.selected !== item.key) state.items.delete(item.key);
    else state.items.set(item.key, item); // the open case stays until the agent moves on
  } else {
    const previous = state.items.get(item.key);
    state.items.set(item.key, previous ? { ...previous, ...item } : item);
  }
  render();
}

export function remove(key) {
  state.items.delete(key);
  render();
}

export function item(key) {
  return state.items.get(key);
}

export function items() {
  return [...state.items.values()];
}

export function markUnread(key, unread) {
  const found = state.items.get(key);
  if (found) {
    found.unread = unread;
    render();
  }
}

// --- order, filter, selection ------------------------------------------------------------------

function urgency(entry) {
  if (entry.kind === "chat" && entry.status === "waiting") return [0, Date.parse(entry.due || entry.since || 0)];
  if (entry.due) return [1, Date.parse(entry.due)];
  return [2, Date.parse(entry.since || 0)];
}

function sorted() {
  return items()
    .filter((entry) => state.filter === "all" || entry.kind === state.filter)
    .sort((a, b) => {
      const [ga, ta] = urgency(a);
      const [gb, tb] = urgency(b);
      return ga - gb || ta - tb;
    });
}

export function setFilter(filter) {
  state.filter = filter;
  render();
}

export function selectedKey() {
  return state.selected;
}

export function select(key, { open = false, focus = true } = {}) {
  state.selected = key;
  for (const row of document.querySelectorAll("#queue-list > li")) {
    const on = row.dataset.key === key;
    row.setAttribute("aria-selected", on ? "true" : "false");
    if (on) {
      row.scrollIntoView({ block: "nearest" });
      if (focus) row.focus({ preventScroll: true });
    }
  }
  if (open && key && state.items.has(key)) onOpen(state.items.get(key));
}

/** j/k: move the selection; opening waits for Enter. */
export function move(delta) {
  if (!state.order.length) return;
  const index = state.order.indexOf(state.selected);
  const next = index < 0 ? 0 : Math.max(0, Math.min(state.order.length - 1, index + delta));
  select(state.order[next]);
}

export function openSelected() {
  if (state.selected) select(state.selected, { open: true });
}

// --- rendering ---------------------------------------------------------------------------------

export function render() {
  const list = $("#queue-list");
  if (!list) return;
  const entries = sorted();
  state.order = entries.map((entry) => entry.key);
  renderTabs();
  const rows = entries.map((entry) => row(entry));
  if (!rows.length) {
    rows.push(h("li", { class: "queue-empty", role: "presentation" }, t("queue.empty")));
  }
  const hadFocus = list.contains(document.activeElement);
  fill(list, rows);
  if (hadFocus) (list.querySelector("li[aria-selected=true]") || list).focus({ preventScroll: true }); // a live update keeps the keyboard's place
  const all = items();
  const overdue = all.filter((entry) => entry.due && Date.parse(entry.due) < Date.now()).length;
  const failed = [...state.failed].map((kind) => t(`kind.${kind}s`));
  fill(
    $("#queue-summary"),
    t("queue.summary", { n: all.length }),
    overdue ? h("span", { class: "overdue-count" }, " · ", t("queue.overdue_count", { n: overdue })) : null,
    failed.length ? h("span", { class: "warn" }, " · ", t("queue.unavailable", { what: failed.join(", ") })) : null,
  );
  tick();
}

function renderTabs() {
  const counts = { all: state.items.size };
  for (const kind of KINDS) counts[kind] = items().filter((entry) => entry.kind === kind).length;
  const tabs = ["all", ...KINDS].map((filter, index) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        "aria-selected": state.filter === filter ? "true" : "false",
        title: `${index + 1}`,
        onclick: () => setFilter(filter),
      },
      t(filter === "all" ? "queue.all" : `kind.${filter}s`),
      h("span", { class: "count" }, counts[filter]),
    ),
  );
  fill($(".queue-tabs"), tabs);
}

function row(entry) {
  return h(
    "li",
    {
      role: "option",
      tabindex: "-1",
      "aria-selected": entry.key === state.selected ? "true" : "false",
      dataset: { key: entry.key, kind: entry.kind },
      class: `queue-item kind-${entry.kind}${entry.escalated ? " escalated" : ""}`,
      onclick: () => select(entry.key, { open: true }),
    },
    h("span", { class: `kind-badge kind-${entry.kind}` }, t(`kind.${entry.kind}`)),
    h("span", { class: "queue-title", title: entry.title }, entry.title, entry.unread ? h("span", { class: "unread" }, entry.unread) : null),
    h("span", { class: "sla", dataset: { due: entry.due || "", since: entry.since || "" } }),
    h("span", { class: "queue-detail" }, h("span", { class: `status status-${entry.status}` }, statusLabel(entry.kind, entry.status)), " ", entry.detail || ""),
    h("span", { class: "queue-id" }, shortId(entry.id)),
  );
}

/** Refresh every SLA clock on the page (queue rows and the case header), once a second. */
export function tick() {
  const now = Date.now();
  for (const clock of document.querySelectorAll(".sla[data-due], .sla[data-since]")) {
    const { text, level } = slaClock(clock.dataset.due, clock.dataset.since, now);
    if (clock.textContent !== text) clock.textContent = text;
    if (clock.dataset.level !== level) clock.dataset.level = level;
  }
}
