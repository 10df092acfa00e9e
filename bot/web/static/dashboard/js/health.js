// Health: store, active sessions, sweeper lag, send errors; sessions opened and closed per
// hour by close reason (Chart.js), refreshed live.
import { html, useEffect, useRef } from "../vendor/preact-htm.js";
import { api } from "./api.js";
import { duration, hourLabel, reasonColour, reasonLabel } from "./format.js";
import { usePoll } from "./hooks.js";
import { Updated } from "./widgets.js";

const HOURS = 24;
const LAG_WARNING_S = 60;

function Figure({ label, value, detail, tone = "", testid }) {
  return html`
    <section class=${`card figure ${tone}`} data-testid=${testid}>
      <h2>${label}</h2>
      <p class="value">${value}</p>
      ${detail && html`<p class="muted">${detail}</p>`}
    </section>`;
}

function reasonsOf(hours) {
  const reasons = new Set();
  for (const hour of hours) for (const reason of Object.keys(hour.closed)) reasons.add(reason);
  return [...reasons].sort();
}

function HourlyChart({ hours }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    if (!window.Chart) return undefined;
    chart.current = new window.Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
    return () => chart.current.destroy();
  }, []);
  useEffect(() => {
    if (!chart.current) return;
    chart.current.data = {
      labels: hours.map((h) => hourLabel(h.start)),
      datasets: [
        { label: "opened", stack: "opened", data: hours.map((h) => h.opened), backgroundColor: "#1f2937" },
        ...reasonsOf(hours).map((reason) => ({
          label: `closed: ${reasonLabel(reason)}`,
          stack: "closed",
          data: hours.map((h) => h.closed[reason] ?? 0),
          backgroundColor: reasonColour(reason),
        })),
      ],
    };
    chart.current.update("none");
  }, [hours]);
  return html`<div class="chart"><canvas ref=${canvas} role="img"
    aria-label="Sessions opened and closed per hour, by close reason"></canvas></div>`;
}

function Totals({ hours }) {
  const opened = hours.reduce((n, h) => n + h.opened, 0);
  const closed = {};
  for (const h of hours) for (const [r, n] of Object.entries(h.closed)) closed[r] = (closed[r] ?? 0) + n;
  const total = Object.values(closed).reduce((a, b) => a + b, 0);
  const parts = Object.entries(closed).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n} ${reasonLabel(r)}`);
  return html`<p class="muted" data-testid="hourly-totals">
    Last ${hours.length} h: ${opened} opened · ${total} closed${parts.length ? ` (${parts.join(", ")})` : ""}</p>`;
}

export function Health() {
  const [{ data, error, updatedAt }] = usePoll(() => api(`health?hours=${HOURS}`), []);
  if (!data) return html`<p class=${error ? "error" : "muted"}>${error ? error.message : "Loading…"}</p>`;
  const store = data.store;
  const storeOk = store.status === "ok";
  const errors = data.send_errors;
  const codes = Object.entries(errors.by_code).map(([code, n]) => `${n} × ${code === "none" ? "no answer" : `code ${code}`}`);
  const lag = data.sweeper_lag_s;
  return html`
    <div class="view-head"><h1>Health</h1><${Updated} at=${updatedAt} error=${error} /></div>
    <div class="figures">
      <${Figure} testid="active-sessions" label="Active sessions"
        value=${data.active_sessions ?? "—"}
        detail=${data.handoff_sessions == null ? "" : `${data.handoff_sessions} more with a person or waiting for one`} />
      <${Figure} testid="sweeper-lag" label="Sweeper lag"
        value=${lag === null ? "—" : duration(lag)}
        tone=${lag !== null && lag > LAG_WARNING_S ? "warn" : ""}
        detail="oldest session past its timeout, not yet closed" />
      <${Figure} testid="send-errors" label="Send errors" value=${errors.total}
        tone=${errors.total ? "warn" : ""}
        detail=${codes.length ? codes.join(", ") : "since this worker started"} />
      <${Figure} testid="store-status" label="Store" value=${storeOk ? "OK" : "Unavailable"}
        tone=${storeOk ? "ok" : "bad"}
        detail=${storeOk ? `${store.backend} · ${store.latency_ms} ms` : `${store.backend}: ${store.detail}`} />
    </div>
    ${data.hours &&
    html`<section class="card">
      <h2>Sessions per hour</h2>
      <${Totals} hours=${data.hours} />
      <${HourlyChart} hours=${data.hours} />
    </section>`}`;
}
