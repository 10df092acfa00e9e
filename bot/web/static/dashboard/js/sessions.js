// Sessions: channel tabs, status and flow filters, newest first, paginated, live.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { api, serverNow } from "./api.js";
import { duration, sessionTitle, when } from "./format.js";
import { go, usePoll, useTicker } from "./hooks.js";
import { Reason, StatusBadge, Updated } from "./widgets.js";

export const PAGE_SIZE = 25;
const TABS = [
  ["", "All"],
  ["whatsapp,twilio_whatsapp", "WhatsApp"],
  ["sms", "SMS"],
  ["voice", "Voice"],
];
const STATUSES = ["active", "handoff", "completed", "cancelled", "timeout"];

/** Flow ids for the filter: every loaded flow (a range that holds no session is cheap). */
function useFlowIds() {
  const [ids, setIds] = useState([]);
  useEffect(() => {
    const future = new Date(serverNow() + 86_400_000).toISOString();
    api(`stats/flows?created_from=${encodeURIComponent(future)}`)
      .then((body) => setIds(body.flows.map((f) => f.flow_id)))
      .catch(() => setIds([]));
  }, []);
  return ids;
}

function TimesOut({ session }) {
  if (session.status !== "active" || !session.expires_at) return html`<span class="muted">—</span>`;
  const left = (Date.parse(session.expires_at) - serverNow()) / 1000;
  return left > 0 ? html`<span>in ${duration(left)}</span>` : html`<span class="warn-text">due</span>`;
}

function Row({ session }) {
  const open = () => go(`sessions/${encodeURIComponent(session.id)}`);
  const flow = session.flow_id ? `${session.flow_id}${session.step_id ? ` · ${session.step_id}` : ""}` : "—";
  return html`
    <tr class="clickable" onClick=${open} data-session=${session.id}>
      <td data-label="User" class="mono">${session.user_masked}</td>
      <td data-label="Title" class="title-cell">
        <a href=${`#/sessions/${encodeURIComponent(session.id)}`}>${sessionTitle(session)}</a>
      </td>
      <td data-label="Flow / step">${flow}</td>
      <td data-label="Status"><${StatusBadge} status=${session.status} /></td>
      <td data-label="Close reason"><${Reason} reason=${session.close_reason} /></td>
      <td data-label="Messages" class="num">${session.messages_in + session.messages_out}</td>
      <td data-label="Last message">${when(session.last_message_at ?? session.last_activity_at)}</td>
      <td data-label="Times out"><${TimesOut} session=${session} /></td>
    </tr>`;
}

export function Sessions({ params }) {
  useTicker();
  const channel = params.get("channel") ?? "";
  const status = params.get("status") ?? "";
  const flow = params.get("flow") ?? "";
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const flows = useFlowIds();
  const filters = { channel, status, flow };
  const query = new URLSearchParams({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  const [{ data, error, updatedAt }] = usePoll(() => api(`sessions?${query}`), [query.toString()]);
  const set = (changes) => go("sessions", { ...filters, page: 1, ...changes });
  const total = data?.total ?? 0;
  const last = Math.max(1, Math.ceil(total / PAGE_SIZE));
  return html`
    <div class="view-head"><h1>Sessions</h1><${Updated} at=${updatedAt} error=${error} /></div>
    <div class="tabs" role="tablist" aria-label="Channel">
      ${TABS.map(
        ([value, label]) => html`
          <button type="button" role="tab" aria-selected=${channel === value ? "true" : "false"}
            onClick=${() => set({ channel: value })}>${label}</button>`,
      )}
    </div>
    <div class="filters">
      <label>Status
        <select name="status" value=${status} onChange=${(e) => set({ status: e.currentTarget.value })}>
          <option value="">any</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label>Flow
        <select name="flow" value=${flow} onChange=${(e) => set({ flow: e.currentTarget.value })}>
          <option value="">any</option>
          ${[...new Set([...flows, flow].filter(Boolean))].map((f) => html`<option value=${f}>${f}</option>`)}
        </select>
      </label>
    </div>
    ${!data
      ? html`<p class=${error ? "error" : "muted"}>${error ? error.message : "Loading…"}</p>`
      : html`
        <table class="sessions">
          <thead><tr>
            <th>User</th><th>Title</th><th>Flow / step</th><th>Status</th><th>Close reason</th>
            <th class="num">Messages</th><th>Last message</th><th>Times out</th>
          </tr></thead>
          <tbody>${data.sessions.map((s) => html`<${Row} key=${s.id} session=${s} />`)}</tbody>
        </table>
        ${data.sessions.length === 0 && html`<p class="empty muted">No sessions match.</p>`}
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled=${page <= 1} onClick=${() => go("sessions", { ...filters, page: page - 1 })}>← Newer</button>
          <span data-testid="page-info">${total ? `${(page - 1) * PAGE_SIZE + 1}–${Math.min(page * PAGE_SIZE, total)} of ${total}` : "0 sessions"}</span>
          <button type="button" disabled=${page >= last} onClick=${() => go("sessions", { ...filters, page: page + 1 })}>Older →</button>
        </nav>`}`;
}
