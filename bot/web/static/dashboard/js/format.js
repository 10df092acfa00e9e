// Labels and formats shared by the views. Numbers arrive masked from the API (user_masked).

export const CHANNELS = {
  whatsapp: "WhatsApp",
  twilio_whatsapp: "WhatsApp",
  sms: "SMS",
  voice: "Call",
};

/** "WhatsApp from +54911****89" */
export const sessionTitle = (s) => `${CHANNELS[s.channel] ?? s.channel} from ${s.user_masked}`;

// Close reasons: a label and a colour each (the chart, the badges, the flow table).
const REASONS = {
  credentials_delivered: ["credentials delivered", "#2f9e44"],
  flow_completed: ["completed", "#37b24d"],
  goodbye: ["goodbye", "#1c7ed6"],
  cancel: ["cancelled", "#f08c00"],
  operator: ["operator", "#7048e8"],
  cleared: ["cleared", "#868e96"],
  timeout: ["timeout", "#adb5bd"],
  action_failed: ["action failed", "#e03131"],
  active: ["still there", "#4dabf7"],
};
const SPARE_COLOURS = ["#0ca678", "#d6336c", "#5c940d", "#e8590c", "#3b5bdb", "#ae3ec9"];

export const reasonLabel = (reason) => REASONS[reason]?.[0] ?? reason.replaceAll("_", " ");

export function reasonColour(reason) {
  if (REASONS[reason]) return REASONS[reason][1];
  let hash = 0;
  for (const char of reason) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return SPARE_COLOURS[Math.abs(hash) % SPARE_COLOURS.length];
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const withSeconds = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** A time of today as "14:05", of another day as "Nov 21, 14:05"; "—" for none. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return (today ? timeOnly : dayAndTime).format(date);
}

export const clockTime = (date) => withSeconds.format(date);
const hourOnly = new Intl.DateTimeFormat(undefined, { hour: "numeric" });
export const hourLabel = (iso) => hourOnly.format(new Date(iso));

/** A duration in seconds as "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export const percent = (rate) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)} %`);

/** A collected value as text (objects and lists as JSON). */
export const valueText = (value) =>
  typeof value === "string" ? value : JSON.stringify(value);
