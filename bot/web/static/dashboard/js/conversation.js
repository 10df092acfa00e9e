// One conversation as a chat: messages in and out with step, time and delivery status; the
// collected data; complete or cancel an active session, with or without the user's notice.
import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { api, serverNow } from "./api.js";
import { duration, reasonLabel, sessionTitle, valueText, when } from "./format.js";
import { usePoll, useTicker } from "./hooks.js";
import { StatusBadge, Updated } from "./widgets.js";

const DELIVERY = {
  pending: ["…", "pending"],
  sent: ["✓", "sent"],
  delivered: ["✓✓", "delivered"],
  read: ["✓✓", "read"],
  failed: ["!", "failed"],
};

function Delivery({ message }) {
  if (message.direction !== "out") return null;
  const [mark, label] = DELIVERY[message.status] ?? ["", message.status];
  const why = message.status === "failed" && (message.error_code || message.error_detail)
    ? ` (${[message.error_code, message.error_detail].filter(Boolean).join(": ")})` : "";
  return html`<span class=${`delivery ${message.status}`} title=${label + why}>
    <span aria-hidden="true">${mark}</span> ${label}${why}</span>`;
}

function Message({ message }) {
  const text = message.text ?? `[${message.kind}]`;
  return html`
    <li class=${`msg ${message.direction}`} data-direction=${message.direction}>
      <p class="text">${text}</p>
      <p class="meta">
        ${message.step_id && html`<span class="step">${message.step_id}</span>`}
        <time datetime=${message.created_at}>${when(message.created_at)}</time>
        <${Delivery} message=${message} />
      </p>
    </li>`;
}

function Chat({ messages }) {
  const list = useRef(null);
  const count = useRef(0);
  useEffect(() => {
    if (messages.length !== count.current && list.current) {
      list.current.scrollTop = list.current.scrollHeight; // follow new messages
      count.current = messages.length;
    }
  }, [messages.length]);
  return html`
    <ol class="chat" ref=${list} aria-label="Messages">
      ${messages.length === 0 && html`<li class="muted">No messages.</li>`}
      ${messages.map((m) => html`<${Message} key=${m.id} message=${m} />`)}
    </ol>`;
}

function CloseActions({ session, onClosed }) {
  const [action, setAction] = useState(null); // "complete" | "cancel" while confirming
  const [notify, setNotify] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function close() {
    setBusy(true);
    setError(null);
    try {
      await api(`sessions/${encodeURIComponent(session.id)}/${action}`, { method: "POST", body: { notify } });
      setAction(null);
      onClosed(action === "cancel" ? "cancelled" : "completed", notify);
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  }
  if (!action) {
    return html`<div class="actions">
      <button type="button" onClick=${() => setAction("complete")}>Complete…</button>
      <button type="button" class="danger" onClick=${() => setAction("cancel")}>Cancel…</button>
    </div>`;
  }
  const verb = action === "cancel" ? "Cancel" : "Complete";
  return html`
    <div class="confirm card" role="dialog" aria-label=${`${verb} this session`}>
      <p><strong>${verb} this session?</strong> The next message from the user starts a new one.</p>
      <label class="check"><input type="checkbox" name="notify" checked=${notify}
        onChange=${(e) => setNotify(e.currentTarget.checked)} />
        Tell the user (sends the close notice in their language)</label>
      <div class="actions">
        <button type="button" class=${action === "cancel" ? "danger" : ""} disabled=${busy}
          onClick=${close}>${verb} session</button>
        <button type="button" class="link" onClick=${() => setAction(null)}>Keep it open</button>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </div>`;
}

function Facts({ session }) {
  const left = session.expires_at ? (Date.parse(session.expires_at) - serverNow()) / 1000 : null;
  const rows = [
    ["Name", session.display_name],
    ["Flow / step", session.flow_id ? `${session.flow_id}${session.step_id ? ` · ${session.step_id}` : ""}` : null],
    ["Language", session.language],
    ["Started", when(session.created_at)],
    ["Last activity", when(session.last_activity_at)],
    session.status === "active"
      ? ["Times out", left === null ? null : left > 0 ? `in ${duration(left)}` : "due now"]
      : ["Closed", `${when(session.closed_at)} · ${reasonLabel(session.close_reason ?? "")}`],
    ["Asking", session.confirming ? `to confirm ${session.confirming} (yes/no)` : null],
    ["Opted out", session.opted_out ? `since ${when(session.opted_out_at)}: no proactive messages` : null],
  ];
  return html`<dl class="facts">${rows.filter(([, v]) => v).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export function Conversation({ id }) {
  useTicker();
  const [{ data, error, updatedAt }, refresh] = usePoll(
    () => api(`sessions/${encodeURIComponent(id)}?limit=500`),
    [id],
  );
  const [done, setDone] = useState(null);
  const back = html`<a class="back" href="#/sessions">← Sessions</a>`;
  if (!data) {
    const message = error?.status === 404 ? "This session does not exist (any more)." : error?.message;
    return html`${back}<p class=${error ? "error" : "muted"}>${message ?? "Loading…"}</p>`;
  }
  const onClosed = (status, notified) => {
    setDone(`Session ${status}${notified ? "; the user was notified." : " without notifying the user."}`);
    refresh();
  };
  const data_ = Object.entries(data.data ?? {});
  return html`
    ${back}
    <div class="view-head">
      <h1>${sessionTitle(data)} <${StatusBadge} status=${data.status} /></h1>
      <${Updated} at=${updatedAt} error=${error} />
    </div>
    ${done && html`<p class="notice" role="status">${done}</p>`}
    <div class="conversation">
      <section class="card chat-card">
        <h2>Messages</h2>
        <${Chat} messages=${data.messages} />
      </section>
      <aside class="side">
        <section class="card">
          <h2>Session</h2>
          <${Facts} session=${data} />
          ${data.status === "active" && html`<${CloseActions} session=${data} onClosed=${onClosed} />`}
        </section>
        <section class="card">
          <h2>Collected data</h2>
          ${data_.length
            ? html`<dl class="facts data">${data_.map(([k, v]) => html`<dt>${k}</dt><dd>${valueText(v)}</dd>`)}</dl>`
            : html`<p class="muted">Nothing collected yet.</p>`}
        </section>
      </aside>
    </div>`;
}
