// The agent's seat in a conversation: take it (under the agent's name, remembered in this
// browser's localStorage), reply through the outbox, give it back to the bot, or close it.
// One agent holds a conversation; taking one another holds answers 409 with their name.
import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { api } from "./api.js";
import { duration, when } from "./format.js";
import { fromStep, handoffReason, secondsSince } from "./handoffs.js";

const AGENT_KEY = "bot-dashboard-agent";
export const MAX_AGENT_LENGTH = 128; // bot/web/openapi/limits.py
export const MAX_TEXT_LENGTH = 4096;

export const savedAgent = () => window.localStorage.getItem(AGENT_KEY) ?? "";
const saveAgent = (name) => window.localStorage.setItem(AGENT_KEY, name);

/** A failed call in plain words; a 409 that names the holder says who. */
export function failureText(failure) {
  if (failure.status === 409 && failure.data?.agent) return `Held by ${failure.data.agent}.`;
  const state = failure.status === 409 ? failure.data?.status : undefined;
  if (state) return `This conversation is ${state} now${state === "active" ? " (the bot answers it)" : ""}.`;
  if (failure.status === 404) return "This conversation does not exist (any more).";
  if (failure.status === 0) return `Cannot reach the service: ${failure.message.replace(/^cannot reach the service /, "")}`;
  return failure.message ? `${failure.message[0].toUpperCase()}${failure.message.slice(1)}.` : "Something went wrong.";
}

const path = (session, action) => `sessions/${encodeURIComponent(session.id)}/${action}`;

/** Who holds the session, in words: "Waiting for a person for 3 min", "Held by you". */
function Holder({ session, me }) {
  const handoff = session.handoff;
  const from = fromStep(handoff.flow, handoff.step);
  let who;
  if (!handoff.agent) who = html`<strong>Waiting for a person</strong> for ${duration(secondsSince(handoff.since))}`;
  else if (handoff.agent === me) who = html`<strong>You hold it</strong> (as ${me}) since ${when(handoff.taken_at)}`;
  else who = html`<strong>Held by ${handoff.agent}</strong> since ${when(handoff.taken_at)}`;
  return html`<p class="holder-line" data-testid="holder">${who}
    <span class="muted"> · ${handoffReason(handoff.reason)}${from ? ` · from ${from}` : ""}</span></p>`;
}

function CloseConfirm({ session, onDone, onCancel }) {
  const [notify, setNotify] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function close() {
    setBusy(true);
    setError(null);
    try {
      const closed = await api(path(session, "close"), { method: "POST", body: { notify } });
      onDone(closed, closed.notified ? "Conversation closed; the user got the closing notice." : "Conversation closed without a notice.");
    } catch (failure) {
      setError(failureText(failure));
      setBusy(false);
    }
  }
  return html`
    <div class="confirm card" role="dialog" aria-label="Close this conversation">
      <p><strong>Close this conversation?</strong> The next message from the user starts a new one with the bot.</p>
      <label class="check"><input type="checkbox" name="notify" checked=${notify}
        onChange=${(e) => setNotify(e.currentTarget.checked)} />
        Send the closing notice (in the user's language)</label>
      <div class="actions">
        <button type="button" class="danger" disabled=${busy} onClick=${close}>Close conversation</button>
        <button type="button" class="link" onClick=${onCancel}>Keep it open</button>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </div>`;
}

/**
 * The seat's bar above the chat, for an open session: who holds it and the agent's buttons.
 * `onChanged(session, notice)` gets the session as the API answered (taken, returned, closed).
 */
export function SeatBar({ session, me, setMe, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [closing, setClosing] = useState(false);
  const [opened, setOpened] = useState(false); // an active session: the take-over form shown
  const [name, setName] = useState(me);
  const nameInput = useRef(null);
  const inHandoff = session.status === "handoff" && session.handoff;
  const mine = inHandoff && session.handoff.agent === me && me !== "";
  useEffect(() => { setError(null); setOpened(false); }, [session.id]);

  async function call(action, body, notice) {
    setBusy(true);
    setError(null);
    try {
      onChanged(await api(path(session, action), { method: "POST", body }), notice);
    } catch (failure) {
      setError(failureText(failure));
    } finally {
      setBusy(false);
    }
  }
  function take(event) {
    event.preventDefault();
    const agent = name.trim();
    if (!agent) {
      setError("Type your name first: the other agents see who holds a conversation.");
      nameInput.current?.focus();
      return;
    }
    saveAgent(agent);
    setMe(agent);
    call("handoff", { agent }, null);
  }
  if (session.status !== "active" && session.status !== "handoff") return null;
  if (!inHandoff && !opened) {
    return html`
      <section class="card seat" aria-label="Agent seat">
        <p class="holder-line muted">The bot is answering this conversation.</p>
        <button type="button" onClick=${() => setOpened(true)}>Take over…</button>
      </section>`;
  }
  return html`
    <section class="card seat" aria-label="Agent seat">
      ${inHandoff
        ? html`<${Holder} session=${session} me=${me} />`
        : html`<p class="holder-line">Take it over to answer yourself
            <span class="muted">(the user is told a person of the team answers now)</span>.</p>`}
      ${mine
        ? html`<div class="actions">
            <button type="button" disabled=${busy}
              onClick=${() => call("return", { agent: me }, "Back to the bot: it answers the user's next message.")}>
              Return to the bot</button>
            <button type="button" class="danger" disabled=${busy} onClick=${() => setClosing(true)}>Close…</button>
          </div>`
        : html`<form class="take" onSubmit=${take}>
            <label>Your name
              <input ref=${nameInput} name="agent" value=${name} maxlength=${MAX_AGENT_LENGTH}
                autocomplete="name" onInput=${(e) => setName(e.currentTarget.value)} /></label>
            <button type="submit" disabled=${busy}>${inHandoff ? "Take" : "Take over"}</button>
            ${inHandoff && !session.handoff.agent &&
              html`<button type="button" class="link" onClick=${() => setClosing(true)}>Close…</button>`}
            ${!inHandoff && html`<button type="button" class="link" onClick=${() => setOpened(false)}>Not now</button>`}
          </form>`}
      ${closing && html`<${CloseConfirm} session=${session}
        onDone=${(closed, notice) => { setClosing(false); onChanged(closed, notice); }}
        onCancel=${() => setClosing(false)} />`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}

/**
 * The reply box under the chat: Enter sends, Shift+Enter starts a new line. Enabled only for
 * the agent holding the session. `send(text)` resolves when the API accepted the message and
 * rejects with the failure (the text is then put back; the conversation shows the failure,
 * even once the box is gone because the session was closed meanwhile).
 */
export function ReplyBox({ session, me, send }) {
  const [text, setText] = useState("");
  const box = useRef(null);
  const handoff = session.status === "handoff" ? session.handoff : null;
  const mine = Boolean(handoff && me && handoff.agent === me);
  let hint = "Enter sends; Shift+Enter starts a new line. Sent through the outbox, in order.";
  if (!handoff) hint = session.status === "active" ? "The bot is answering: take the conversation over to reply." : "This conversation is closed.";
  else if (!handoff.agent) hint = "Take the conversation to reply.";
  else if (!mine) hint = `Held by ${handoff.agent}: only they can reply.`;

  async function submit(event) {
    event?.preventDefault();
    const value = text.trim();
    if (!mine || !value) return;
    setText("");
    try {
      await send(value);
    } catch {
      setText(value);
    }
    // Back to the box for the next reply, unless the agent moved on meanwhile (a keyboard
    // user who tabbed to a link must not be pulled back while the send was in flight).
    const moved = document.activeElement;
    if (!moved || moved === document.body || box.current?.form?.contains(moved)) box.current?.focus();
  }
  function onKeyDown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  }
  return html`
    <form class="reply" onSubmit=${submit}>
      <label for="reply" class="sr-only">Reply to the user</label>
      <textarea id="reply" ref=${box} name="reply" rows="2" maxlength=${MAX_TEXT_LENGTH}
        placeholder=${mine ? "Write a reply…" : ""} value=${text} disabled=${!mine}
        aria-describedby="reply-hint" onInput=${(e) => setText(e.currentTarget.value)}
        onKeyDown=${onKeyDown}></textarea>
      <button type="submit" disabled=${!mine || !text.trim()}>Send</button>
      <p id="reply-hint" class="muted small">${hint}</p>
    </form>`;
}
