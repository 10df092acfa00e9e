// The dashboard's shell: sign-in, navigation and the hash router.
//   #/health              health figures and sessions per hour
//   #/sessions?channel=…  the sessions table (tabs, filters, pages)
//   #/sessions/<id>       one conversation
//   #/handoffs            sessions waiting for a person (the agent's seat is in the conversation)
//   #/flows               completion and drop-off per step
import { html, render, useEffect, useState } from "../vendor/preact-htm.js";
import { api, forgetToken, saveToken, token, whenUnauthorized } from "./api.js";
import { Conversation } from "./conversation.js";
import { Flows } from "./flows.js";
import { Handoffs, QueueCount, useHandoffQueue } from "./handoffs.js";
import { Health } from "./health.js";
import { useRoute } from "./hooks.js";
import { Sessions } from "./sessions.js";

const VIEWS = [
  ["health", "Health"],
  ["sessions", "Sessions"],
  ["handoffs", "Handoffs"],
  ["flows", "Flows"],
];

function SignIn({ notice, onSignedIn }) {
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const value = event.currentTarget.elements.token.value.trim();
    if (!value) return;
    setBusy(true);
    try {
      await api("health?hours=1", { withToken: value });
      saveToken(value);
      onSignedIn();
    } catch (failure) {
      setError(failure.status === 401 ? "That token was refused." : failure.message);
    } finally {
      setBusy(false);
    }
  }
  return html`
    <main class="signin">
      <form class="card" onSubmit=${submit}>
        <h1>Bot dashboard</h1>
        <p class="muted">Sign in with the service's admin token (<code>ADMIN_TOKEN</code>).
          It is kept in this browser tab only.</p>
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password"
          required autofocus />
        <button type="submit" disabled=${busy}>${busy ? "Checking…" : "Sign in"}</button>
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </form>
    </main>`;
}

function Shell({ onSignOut }) {
  const { path, params } = useRoute();
  const [view = "health", id] = path;
  // A conversation opened from the Handoffs queue belongs to that section of the navigation.
  const section = view === "sessions" && id && params.get("from") === "handoffs" ? "handoffs" : view;
  const queue = useHandoffQueue();
  let page;
  if (view === "sessions" && id) page = html`<${Conversation} id=${id} />`;
  else if (view === "sessions") page = html`<${Sessions} params=${params} />`;
  else if (view === "handoffs") page = html`<${Handoffs} queue=${queue} />`;
  else if (view === "flows") page = html`<${Flows} />`;
  else page = html`<${Health} />`;
  return html`
    <header class="topbar">
      <a class="brand" href="#/health">Bot dashboard</a>
      <nav aria-label="Views">
        ${VIEWS.map(
          ([key, label]) => html`
            <a href=${`#/${key}`} aria-current=${(section === key || (key === "health" && !VIEWS.some(([k]) => k === section))) ? "page" : undefined}>${label}${key === "handoffs" && html`<${QueueCount} queue=${queue} />`}</a>`,
        )}
      </nav>
      <button type="button" class="link" onClick=${onSignOut}>Sign out</button>
    </header>
    <main class="content">${page}</main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(token()));
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    whenUnauthorized(() => {
      forgetToken();
      setNotice("The token was refused (changed on the server?): sign in again.");
      setSignedIn(false);
    });
  }, []);
  const signOut = () => {
    forgetToken();
    setNotice(null);
    setSignedIn(false);
  };
  return signedIn
    ? html`<${Shell} onSignOut=${signOut} />`
    : html`<${SignIn} notice=${notice} onSignedIn=${() => setSignedIn(true)} />`;
}

const root = document.getElementById("app");
root.replaceChildren(); // the "Loading…" placeholder
render(html`<${App} />`, root);
