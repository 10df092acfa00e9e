// Live data: poll a loader while the page is visible, and the hash route.
import { useEffect, useState } from "../vendor/preact-htm.js";

export const POLL_MS = 2500;

/**
 * Run `step(alive)` now and every `intervalMs` while the tab is visible (and at once when it
 * comes back); `alive()` turns false once stopped. Returns the stop function, for an effect's
 * cleanup. `step` catches its own errors.
 */
export function pollWhileVisible(step, intervalMs) {
  let alive = true;
  let timer = null;
  async function run() {
    clearTimeout(timer);
    if (!document.hidden) await step(() => alive);
    if (alive) timer = setTimeout(run, intervalMs);
  }
  const onVisible = () => !document.hidden && run();
  document.addEventListener("visibilitychange", onVisible);
  run();
  return () => {
    alive = false;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}

/**
 * Call `load()` now and every `intervalMs` while the tab is visible (and at once when it comes
 * back), restarting when `deps` change. Returns [{data, error, updatedAt}, refresh].
 * Old data is dropped when `deps` change, so a new filter never shows the previous rows.
 */
export function usePoll(load, deps, intervalMs = POLL_MS) {
  const [state, setState] = useState({ data: null, error: null, updatedAt: null });
  const [tick, setTick] = useState(0);
  useEffect(
    () =>
      pollWhileVisible(async (alive) => {
        try {
          const data = await load();
          if (alive()) setState({ data, error: null, updatedAt: new Date() });
        } catch (error) {
          if (alive()) setState((old) => ({ ...old, error }));
        }
      }, intervalMs),
    [...deps, tick],
  );
  useEffect(() => setState({ data: null, error: null, updatedAt: null }), deps);
  return [state, () => setTick((n) => n + 1)];
}

/** The current hash route: {path: ["sessions", "abc"], params: URLSearchParams}. */
export function useRoute() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onChange);
    onChange(); // a change between the first render and this effect
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  const [path, query] = hash.replace(/^#\/?/, "").split("?");
  return { path: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query ?? "") };
}

/** Go to a hash route: go("sessions", {channel: "sms"}) → #/sessions?channel=sms */
export function go(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  window.location.hash = `#/${path}${query.size ? `?${query}` : ""}`;
}

/** Re-render every `intervalMs` (countdowns between polls). */
export function useTicker(intervalMs = 1000) {
  const [, setNow] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
}
