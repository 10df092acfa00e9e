// Handoffs: the sessions waiting for a person (or held by one), oldest first, live.
// The shell polls GET /v1/handoffs every 2 s (useHandoffQueue) for the navigation's count and
// hands the same queue to this view: after the first answer only what changed since the
// previous one is asked for (`since`), and the sessions that left (not in `ids`) are dropped.
import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { api, serverNow } from "./api.js";
import { duration, sessionTitle, when } from "./format.js";
import { go, pollWhileVisible, useTicker } from "./hooks.js";
import { Updated } from "./widgets.js";

export const QUEUE_POLL_MS = 2000;
const OVERLAP_MS = 5000; // ask again for a few seconds before the last answer: none missed

const REASONS = {
  user_request: "asked for a person",
  agent: "taken over by an agent",
};
export const handoffReason = (reason) => REASONS[reason] ?? (reason ?? "").replaceAll("_", " ");

/** "flow · step", "flow", or null. */
export const fromStep = (flow, step) => (flow ? `${flow}${step ? ` · ${step}` : ""}` : null);

/** Seconds since an ISO time, on the server's clock. */
export const secondsSince = (iso) => (serverNow() - Date.parse(iso)) / 1000;

/**
 * The queue, polled while signed in: {items (oldest first), total, waiting (held by nobody),
 * error, updatedAt}. `items` are GET /v1/handoffs entries keyed by session_id.
 */
export function useHandoffQueue(intervalMs = QUEUE_POLL_MS) {
  const [state, setState] = useState({ items: null, total: 0, waiting: 0, error: null, updatedAt: null });
  const known = useRef(new Map());
  useEffect(() => {
    let since = null;
    return pollWhileVisible(async (alive) => {
      try {
        const query = since ? `?since=${encodeURIComponent(since)}` : "";
        const body = await api(`handoffs${query}`);
        const map = known.current;
        for (const item of body.handoffs) map.set(item.session_id, item);
        const present = new Set(body.ids);
        for (const id of [...map.keys()]) if (!present.has(id)) map.delete(id);
        since = new Date(Date.parse(body.now) - OVERLAP_MS).toISOString();
        const items = [...map.values()].sort((a, b) => Date.parse(a.since) - Date.parse(b.since));
        if (alive()) {
          setState({
            items,
            total: body.total,
            waiting: items.filter((i) => !i.agent).length,
            error: null,
            updatedAt: new Date(),
          });
        }
      } catch (error) {
        if (alive()) setState((old) => ({ ...old, error }));
      }
    }, intervalMs);
  }, [intervalMs]);
  return state;
}

/** The navigation's count: sessions nobody holds yet (hidden when none). */
export function QueueCount({ queue }) {
  if (!queue.waiting) return null;
  return html`<span class="count" data-testid="handoff-count"
    title=${`${queue.waiting} waiting for a person, ${queue.total} in handoff`}>
    <span class="sr-only">, waiting: </span>${queue.waiting}</span>`;
}

function Row({ item }) {
  const href = `#/sessions/${encodeURIComponent(item.session_id)}?from=handoffs`; // the nav keeps Handoffs lit
  const open = (event) => {
    if (event.target.closest("a")) return; // the link navigates itself
    go(`sessions/${encodeURIComponent(item.session_id)}`);
  };
  return html`
    <tr class="clickable" onClick=${open} data-session=${item.session_id}>
      <td data-label="Waiting" class="waiting">
        <time datetime=${item.since}>${duration(secondsSince(item.since))}</time></td>
      <td data-label="Title" class="title-cell">
        <span><a href=${href}>${sessionTitle(item)}</a>
        ${item.display_name && html`<span class="muted small"> ${item.display_name}</span>`}</span>
      </td>
      <td data-label="Reason"><span>${handoffReason(item.reason)}
        ${item.cancel_requested && html` <span class="badge cancelled">asked to cancel</span>`}</span></td>
      <td data-label="From">${fromStep(item.flow, item.step) ?? html`<span class="muted">—</span>`}</td>
      <td data-label="Last message" class="last-text">
        ${item.last_inbound_text
          ? html`<span><q>${item.last_inbound_text}</q> <span class="muted small">${when(item.last_inbound_at)}</span></span>`
          : html`<span class="muted">—</span>`}</td>
      <td data-label="Agent">${item.agent
        ? html`<span class="holder">${item.agent}</span>`
        : html`<span class="badge handoff">waiting</span>`}</td>
    </tr>`;
}

export function Handoffs({ queue }) {
  useTicker();
  const { items, error, updatedAt } = queue;
  return html`
    <div class="view-head"><h1>Handoffs</h1><${Updated} at=${updatedAt} error=${error} /></div>
    <p class="muted">Conversations waiting for a person, oldest first. Open one to take it and
      reply; the bot stays silent until it is returned to the bot or closed.</p>
    ${!items
      ? html`<p class=${error ? "error" : "muted"}>${error ? error.message : "Loading…"}</p>`
      : html`
        <table class="sessions handoffs">
          <thead><tr>
            <th>Waiting</th><th>User</th><th>Reason</th><th>From</th><th>Last message</th><th>Agent</th>
          </tr></thead>
          <tbody>${items.map((i) => html`<${Row} key=${i.session_id} item=${i} />`)}</tbody>
        </table>
        ${items.length === 0 && html`<p class="empty muted">Nobody is waiting for a person.</p>`}`}`;
}
