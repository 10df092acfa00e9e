// One conversation as a chat: messages in and out with step, time and delivery status; the
// collected data; complete or cancel an active session, with or without the user's notice;
// and the agent's seat (seat.js) for a conversation a person has or takes.
// The session's facts are polled (GET /v1/sessions/{id}?limit=1); its messages are loaded
// once and then polled after the newest one (GET /v1/sessions/{id}/messages?after=N), from a
// little further back while recent outbound messages still wait for their delivery ticks.
import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { api, serverNow } from "./api.js";
import { duration, reasonLabel, sessionTitle, valueText, when } from "./format.js";
import { fromStep, handoffReason } from "./handoffs.js";
import { pollWhileVisible, usePoll, useTicker } from "./hooks.js";
import { ReplyBox, SeatBar, failureText, savedAgent } from "./seat.js";
import { StatusBadge, Updated } from "./widgets.js";

export const MESSAGES_POLL_MS = 2000;
const HISTORY = 500; // messages loaded when the conversation opens
const WATCHED = 30; // the newest messages whose delivery status is still followed
const UNSETTLED = new Set(["pending", "sent", "delivered"]);

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
    <li class=${`msg ${message.direction}${message.agent ? " agent" : ""}`} data-direction=${message.direction}>
      <p class="text">${text}</p>
      <p class="meta">
        ${message.agent && html`<span class="by">${message.agent}</span>`}
        ${message.flag === "cancel" && html`<span class="flag">asked to cancel</span>`}
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
    session.status === "handoff" && session.handoff
      ? ["Handoff", `${handoffReason(session.handoff.reason)} · ${when(session.handoff.since)}${fromStep(session.handoff.flow, session.handoff.step) ? ` · from ${fromStep(session.handoff.flow, session.handoff.step)}` : ""}`]
      : null,
    session.status === "active" || session.status === "handoff"
      ? ["Times out", left === null ? null : left > 0 ? `in ${duration(left)}` : "due now"]
      : ["Closed", `${when(session.closed_at)} · ${reasonLabel(session.close_reason ?? "")}`],
    ["Asking", session.confirming ? `to confirm ${session.confirming} (yes/no)` : null],
    ["Opted out", session.opted_out ? `since ${when(session.opted_out_at)}: no proactive messages` : null],
  ];
  return html`<dl class="facts">${rows.filter((row) => row && row[1]).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

/** The newest message id, or from where delivery ticks are still awaited (the `after` to ask). */
function cursor(messages) {
  const stored = messages.filter((m) => typeof m.id === "number");
  const newest = stored.length ? stored[stored.length - 1].id : 0;
  const open = stored.slice(-WATCHED).filter((m) => m.direction === "out" && UNSETTLED.has(m.status));
  return open.length ? Math.min(newest, open[0].id - 1) : newest;
}

/**
 * `messages` with `fresh` merged in by id (newer copies win), oldest first, local ones last; a
 * local one is dropped once a poll brought its stored copy (same agent and text, stored after
 * it was shown: `after` is the newest id then).
 */
function merged(messages, fresh) {
  const byId = new Map(messages.map((m) => [m.id, m]));
  for (const m of fresh) byId.set(m.id, m);
  const all = [...byId.values()];
  const stored = all.filter((m) => typeof m.id === "number").sort((a, b) => a.id - b.id);
  const local = all.filter((m) => typeof m.id !== "number").filter(
    (l) => !stored.some((m) => m.id > l.after && m.agent === l.agent && m.text === l.text),
  );
  return [...stored, ...local];
}

/**
 * The session's messages, live: [{messages, error}, {add, settle, drop}]. `add` shows a message
 * at once (a local id), `settle(localId, stored)` swaps it for the stored one, `drop` removes it.
 */
function useMessages(id) {
  const [state, setState] = useState({ messages: null, error: null });
  const current = useRef([]);
  useEffect(() => {
    current.current = [];
    setState({ messages: null, error: null });
    let loaded = false;
    return pollWhileVisible(async (alive) => {
      const update = (messages) => {
        current.current = messages;
        if (alive()) setState({ messages, error: null });
      };
      try {
        if (!loaded) {
          const session = await api(`sessions/${encodeURIComponent(id)}?limit=${HISTORY}`);
          loaded = true;
          update(merged(current.current, session.messages));
        } else {
          const after = cursor(current.current);
          const body = await api(`sessions/${encodeURIComponent(id)}/messages?after=${after}`);
          update(merged(current.current, body.messages));
        }
      } catch (error) {
        if (alive()) setState((old) => ({ ...old, error }));
      }
    }, MESSAGES_POLL_MS);
  }, [id]);
  const set = (messages) => {
    current.current = messages;
    setState((old) => ({ ...old, messages }));
  };
  const add = (message) => set(merged(current.current, [message]));
  const drop = (localId) => set(current.current.filter((m) => m.id !== localId));
  const settle = (localId, stored) => set(merged(current.current.filter((m) => m.id !== localId), [stored]));
  return [state, { add, settle, drop }];
}

let localIds = 0;

export function Conversation({ id }) {
  useTicker();
  const [{ data: polled, error, updatedAt }, refresh] = usePoll(
    () => api(`sessions/${encodeURIComponent(id)}?limit=1`),
    [id],
  );
  const [chat, { add, settle, drop }] = useMessages(id);
  const [me, setMe] = useState(savedAgent);
  const [answered, setAnswered] = useState(null); // the session as the last action answered
  const [done, setDone] = useState(null);
  const [notSent, setNotSent] = useState(null);
  useEffect(() => { setAnswered(null); setDone(null); setNotSent(null); }, [id]);
  const data = answered && (!polled || Date.parse(answered.at) >= updatedAt) ? answered.session : polled;
  const back = data?.status === "handoff"
    ? html`<a class="back" href="#/handoffs">← Handoffs</a>`
    : html`<a class="back" href="#/sessions">← Sessions</a>`;
  if (!data) {
    const message = error?.status === 404 ? "This session does not exist (any more)." : error?.message;
    return html`${back}<p class=${error ? "error" : "muted"} role=${error ? "alert" : undefined}>${message ?? "Loading…"}</p>`;
  }
  const onClosed = (status, notified) => {
    setDone(`Session ${status}${notified ? "; the user was notified." : " without notifying the user."}`);
    refresh();
  };
  const onChanged = (session, notice) => {
    setAnswered({ session, at: new Date().toISOString() });
    setDone(notice);
    refresh();
  };
  async function send(text) {
    const localId = `local-${++localIds}`;
    setNotSent(null);
    const stored = (chat.messages ?? []).filter((m) => typeof m.id === "number");
    add({ id: localId, direction: "out", kind: "text", text, agent: me, status: "pending",
      created_at: new Date(serverNow()).toISOString(), after: stored.at(-1)?.id ?? 0 });
    try {
      const accepted = await api(`sessions/${encodeURIComponent(id)}/messages`, {
        method: "POST", body: { agent: me, text },
      });
      settle(localId, accepted);
    } catch (failure) {
      drop(localId);
      setNotSent(`Not sent: ${failureText(failure)}`);
      if (failure.status === 409) refresh();
      throw failure;
    }
  }
  const data_ = Object.entries(data.data ?? {});
  const messages = chat.messages ?? [];
  return html`
    ${back}
    <div class="view-head">
      <h1>${sessionTitle(data)} <${StatusBadge} status=${data.status} /></h1>
      <${Updated} at=${updatedAt} error=${error ?? chat.error} />
    </div>
    ${done && html`<p class="notice" role="status">${done}</p>`}
    <${SeatBar} session=${data} me=${me} setMe=${setMe} onChanged=${onChanged} />
    <div class="conversation">
      <section class=${`card chat-card${data.status === "handoff" ? " seated" : ""}`}>
        <h2>Messages</h2>
        ${chat.messages === null && !chat.error
          ? html`<p class="muted chat-note">Loading…</p>`
          : html`<${Chat} messages=${messages} />`}
        ${data.status === "handoff" &&
          html`<${ReplyBox} session=${data} me=${me} send=${send} />`}
        ${notSent && html`<p class="error reply-error" role="alert">${notSent}</p>`}
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
