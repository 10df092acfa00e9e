// Flows: completion rate, and per step where users wait, go quiet, cancel or say goodbye.
import { html, useState } from "../vendor/preact-htm.js";
import { api, serverNow } from "./api.js";
import { percent, reasonColour, reasonLabel } from "./format.js";
import { usePoll } from "./hooks.js";
import { Updated } from "./widgets.js";

const RANGES = [
  ["1", "last 24 h"],
  ["7", "last 7 days"],
  ["", "all kept"],
];
const COLUMNS = [
  ["active", "Waiting now"],
  ["timeout", "Went quiet"],
  ["cancel", "Cancelled"],
  ["goodbye", "Said goodbye"],
];
const FLOWS_POLL_MS = 10_000;

const other = (byOutcome) =>
  Object.entries(byOutcome).reduce((n, [k, v]) => (COLUMNS.some(([c]) => c === k) ? n : n + v), 0);

function StopBar({ byOutcome, of }) {
  if (!of) return null;
  return html`<div class="stopbar" aria-hidden="true">
    ${Object.entries(byOutcome).map(
      ([outcome, n]) => html`<span class="seg" title=${`${n} ${reasonLabel(outcome)}`}
        style=${{ width: `${(100 * n) / of}%`, background: reasonColour(outcome) }}></span>`,
    )}
  </div>`;
}

function FlowCard({ flow }) {
  return html`
    <section class="card flow" data-flow=${flow.flow_id}>
      <h2>${flow.flow_id}</h2>
      ${flow.description && html`<p class="muted">${flow.description}</p>`}
      <p class="flow-figures">
        <span><strong>${flow.sessions}</strong> sessions</span>
        <span><strong>${flow.completed}</strong> completed (<strong data-testid="completion">${percent(flow.completion_rate)}</strong>)</span>
        <span><strong>${flow.active}</strong> in progress</span>
      </p>
      <div class="meter" aria-hidden="true"><span style=${{ width: `${100 * (flow.completion_rate ?? 0)}%` }}></span></div>
      <table class="steps">
        <thead><tr>
          <th>Step</th>${COLUMNS.map(([, label]) => html`<th class="num">${label}</th>`)}
          <th class="num">Other</th><th class="bar-col">Stopped here</th>
        </tr></thead>
        <tbody>
          ${flow.steps.map(
            (step) => html`
              <tr data-step=${step.step_id ?? ""}>
                <td data-label="Step">${step.step_id ?? html`<span class="muted">(no step)</span>`}${step.question ? html` <span class="muted small">question</span>` : ""}</td>
                ${COLUMNS.map(([key, label]) => html`<td class="num" data-label=${label}>${step.by_outcome[key] ?? 0}</td>`)}
                <td class="num" data-label="Other">${other(step.by_outcome)}</td>
                <td class="bar-col" data-label="Stopped here">
                  <${StopBar} byOutcome=${step.by_outcome} of=${flow.sessions} />
                  <span class="small muted">${flow.sessions ? percent(step.stopped / flow.sessions) : "—"}</span>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
}

export function Flows() {
  const [days, setDays] = useState("7");
  const [{ data, error, updatedAt }] = usePoll(() => {
    const from = days ? `?created_from=${encodeURIComponent(new Date(serverNow() - days * 86_400_000).toISOString())}` : "";
    return api(`stats/flows${from}`);
  }, [days], FLOWS_POLL_MS);
  return html`
    <div class="view-head"><h1>Flows</h1><${Updated} at=${updatedAt} error=${error} /></div>
    <div class="filters">
      <label>Sessions started
        <select name="range" value=${days} onChange=${(e) => setDays(e.currentTarget.value)}>
          ${RANGES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>
      </label>
    </div>
    ${!data
      ? html`<p class=${error ? "error" : "muted"}>${error ? error.message : "Loading…"}</p>`
      : data.flows.map((flow) => html`<${FlowCard} key=${flow.flow_id} flow=${flow} />`)}`;
}
