// Small pieces shared by the views.
import { html } from "../vendor/preact-htm.js";
import { clockTime, reasonLabel } from "./format.js";

/** "● Live · 14:05:03", or the error of the last poll (the data shown is then older). */
export function Updated({ at, error }) {
  if (error) return html`<p class="live stale" role="status">Not updating: ${error.message}</p>`;
  return html`<p class="live" role="status">Live${at ? ` · ${clockTime(at)}` : ""}</p>`;
}

export function StatusBadge({ status }) {
  return html`<span class=${`badge ${status}`}>${status}</span>`;
}

export function Reason({ reason }) {
  return reason ? html`<span>${reasonLabel(reason)}</span>` : html`<span class="muted">—</span>`;
}
