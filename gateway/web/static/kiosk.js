// The kiosk page: lists tokens, shows the selected one, runs flows as jobs and polls them.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { tokens: [], selected: null, job: null, confirmAction: null, listing: false, queue: [] };
const LIST_EVERY_MS = 4000;
const JOB_EVERY_MS = 300;
const STAGES = {
  info: "Reading the token", clock: "Setting the token's clock", status: "Asking the server",
  store: "Saving the result on the token", bundle: "Writing new identifiers to the token",
  history: "Reading the history from the token", upload: "Sending the report to the server",
  server: "Telling the server", token: "Updating the token", done: "Finishing", starting: "Starting",
};

// The per-start secret the kiosk put in this page: every API call must carry it.
const SECRET = (document.querySelector('meta[name="kiosk-secret"]') || {}).content || "";
// Dates in the kiosk's locale (robert-kiosk serve --locale), else the browser's; 24-hour.
const LOCALE = (() => {
  const m = (document.querySelector('meta[name="kiosk-locale"]') || {}).content || "";
  return m && !m.startsWith("__") ? m : (navigator.language || "en-GB");
})();
const reported = {};  // serial -> Date of a report accepted on this page

async function api(method, path, body) {
  let answer;
  const headers = { "X-Kiosk-Secret": SECRET };
  if (body) headers["Content-Type"] = "application/json";
  try {
    answer = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new Error("The kiosk program is not answering. Check that it is running, then reload the page.");
  }
  let data = null;
  try { data = await answer.json(); } catch (e) { data = null; }
  if (!answer.ok) {
    throw new Error((data && data.error) || `The kiosk refused the request (HTTP ${answer.status}).`);
  }
  return data;
}

function headlineText(view) {
  if (!view) return "Token not answering";
  const when = reported[view.serial];
  if (when && !(view.risk_level > 0)) return `Reported on ${formatDay(when)}`;
  return view.headline;
}

function headlineClass(view) {
  if (!view) return "off";
  if (reported[view.serial] && !(view.risk_level > 0)) return "warn";
  if (view.state === "not_provisioned") return "off";
  if (view.risk_level > 0) return "risk";
  if (view.headline === "Not at risk") return "ok";
  return "warn";
}

function formatDay(d) {
  return d.toLocaleDateString(LOCALE, { day: "numeric", month: "short", year: "numeric" });
}

// "until the end of 4 Dec 2026" for a local midnight (never an ambiguous "00:00"), else
// "5 Dec 2026, 01:00" in 24-hour time.
function formatUntil(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  if (d.getHours() === 0 && d.getMinutes() === 0) {
    const dayBefore = new Date(d.getTime() - 60 * 1000);
    return `until the end of ${formatDay(dayBefore)}`;
  }
  return `until ${formatDate(iso)}`;
}

function formatDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(LOCALE, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

function renderList() {
  const ul = $("tokens");
  const focused = ul.contains(document.activeElement) ? document.activeElement.dataset.token : null;
  ul.replaceChildren();
  if (!state.tokens.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No token found. Plug a token in by USB.";
    ul.append(li);
    return;
  }
  for (const t of state.tokens) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.token = t.id;
    b.setAttribute("aria-current", String(t.id === state.selected));
    b.textContent = t.view ? t.view.serial : t.port;
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.textContent = t.busy ? "busy…" : t.view ? t.view.headline : "not answering";
    b.append(sub);
    b.addEventListener("click", () => select(t.id));
    li.append(b);
    ul.append(li);
    if (t.id === focused) b.focus();  // the list refreshes: keyboard users keep their place
  }
}

function current() { return state.tokens.find((t) => t.id === state.selected) || null; }

function renderToken() {
  const t = current();
  $("token").hidden = !t;
  if (!t) return;
  const v = t.view;
  $("serial").textContent = v ? v.serial : t.port;
  const h = $("headline");
  h.textContent = headlineText(v);
  h.className = "headline " + headlineClass(v);
  $("details").hidden = !v;
  if (v) {
    $("d-tuples").textContent = formatUntil(v.tuples_until);
    $("d-battery").textContent = v.battery_pct == null ? "—" : `${v.battery_pct} %`;
    $("d-hellos").textContent = String(v.log_hellos);
  }
  // A token that stopped answering is said apart: a job's result stays on screen.
  $("token-error").textContent = !v && t.error ? t.error : "";
  $("token-error").hidden = !(!v && t.error);
  const advice = $("advice");
  advice.hidden = !(v && v.state === "not_provisioned");
  advice.textContent = "This token has no keys yet. Give it to the provisioning station "
    + "(robert-provision token) before the holder uses it; nothing can be done with it here.";
  const busy = Boolean(state.job) || t.busy;
  const provisioned = v && v.state !== "not_provisioned";
  $("btn-status").disabled = busy || !provisioned;
  $("btn-report").disabled = busy || !provisioned;
  $("btn-erase").disabled = busy || !provisioned;
  $("btn-retire").disabled = busy || !provisioned;
}

function showMessage(text, isError, neutral) {
  const m = $("message");
  m.textContent = text;
  m.className = "message" + (isError ? " error" : neutral ? " neutral" : "");
  m.hidden = !text;
}

async function refreshList() {
  if (state.job || state.listing) return;  // one list request at a time: a hung token is slow
  state.listing = true;
  try {
    const data = await api("GET", "/api/tokens");
    state.tokens = data.tokens;
    if (data.error) showMessage(data.error, true);
    if (!current() && state.tokens.length) state.selected = state.tokens[0].id;
  } catch (e) {
    showMessage(e.message, true);
  } finally {
    state.listing = false;
  }
  renderList();
  renderToken();
  refreshQueue();
}

function select(id) {
  state.selected = id;
  closePanels();
  showMessage("", false);
  renderList();
  renderToken();
  if (!$("btn-status").disabled) $("btn-status").focus();
}

async function refreshQueue() {
  try {
    state.queue = (await api("GET", "/api/queue")).entries;
  } catch (e) {
    return;
  }
  const ul = $("queue-list");
  ul.replaceChildren();
  for (const q of state.queue) {
    const li = document.createElement("li");
    li.className = "queue-" + q.state;
    li.dataset.state = q.state;
    li.textContent = `${q.serial || "?"}: ${q.text}`;
    ul.append(li);
  }
  $("queue").hidden = !state.queue.length;
}

async function retryQueue() {
  $("btn-retry").disabled = true;
  $("queue-message").textContent = "Sending…";
  let job;
  try {
    job = await api("POST", "/api/queue/retry", {});
    while (job.state === "running") {
      await new Promise((r) => setTimeout(r, JOB_EVERY_MS));
      job = await api("GET", `/api/jobs/${job.id}`);
    }
    const res = (job.result && job.result.retried) || [];
    $("queue-message").textContent = job.state !== "done" ? job.error
      : !res.length ? "Nothing could be sent now." : res.map((r) => r.message).join(" ");
  } catch (e) {
    $("queue-message").textContent = e.message;
  }
  $("btn-retry").disabled = false;
  refreshQueue();
}

function closePanels() {
  $("report-form").hidden = true;
  $("confirm").hidden = true;
  $("actions").hidden = false;
}

function showProgress(job) {
  $("progress-box").hidden = !job;
  if (!job) return;
  const label = STAGES[job.stage] || job.stage;
  const p = $("progress");
  if (job.total > 0) {
    p.max = job.total;
    p.value = job.done;
    const pct = Math.round((100 * job.done) / job.total);
    $("progress-label").textContent = `${label}… ${pct} %`;
  } else {
    p.removeAttribute("value");
    $("progress-label").textContent = `${label}…`;
  }
}

const DONE_TEXT = {
  status: (r) => `Status checked: ${r.token.headline}.` + (r.tuples_written ? ` The token is protected ${formatUntil(r.token.tuples_until)}.` : ""),
  report: (r) => !r.delivered ? r.message : !r.acknowledged ? r.message
    : r.contacts === 0 ? "Report accepted by the server. The token had recorded no contacts in the period. Thank the holder."
    : `Report accepted by the server: ${r.contacts} contact${r.contacts === 1 ? "" : "s"} sent. Thank the holder.`,
  erase: (r) => `History erased: ${r.erased_on_token} records removed from the token and the server was told.`,
  retire: (r) => `Token ${r.serial} retired: unregistered and wiped. It can go back to provisioning.`,
};

async function runJob(path, body, keepForm) {
  closePanels();
  showMessage("", false);
  let job;
  try {
    job = await api("POST", path, body || {});
  } catch (e) {
    showMessage(e.message, true);
    return false;
  }
  state.job = job;
  renderToken();
  showProgress(job);
  while (job.state === "running") {
    await new Promise((r) => setTimeout(r, JOB_EVERY_MS));
    try { job = await api("GET", `/api/jobs/${job.id}`); } catch (e) { job = { state: "failed", error: e.message }; }
    showProgress(job.state === "running" ? job : null);
  }
  state.job = null;
  showProgress(null);
  // A status result is news, good or bad: the headline's colour says which, not the message's.
  const t = current();
  const failed = job.state !== "done" || (job.kind === "report" && !job.result.delivered);
  if (job.state === "done") showMessage(DONE_TEXT[job.kind](job.result), failed, job.kind === "status");
  else showMessage(job.error, true);
  if (job.state === "done" && job.kind === "report" && job.result.delivered && t && t.view) reported[t.view.serial] = new Date();
  if (failed && keepForm) { $("actions").hidden = true; $("report-form").hidden = false; }  // inputs kept
  if (job.result && job.result.token && t) t.view = job.result.token;
  renderToken();
  refreshList();
  return job.state === "done";
}

function tokenPath(action) { return `/api/tokens/${state.selected}/${action}`; }

function openReport() {
  $("actions").hidden = true;
  $("report-form").reset();
  $("btn-report-send").disabled = true;
  updateDateLabel();
  $("report-form").hidden = false;
  $("report-code").focus();
}

function updateDateLabel() {
  const when = document.querySelector('input[name="when"]:checked').value;
  $("report-date-label").textContent = when === "onset" ? "Date symptoms started" : "Date of the positive test";
}

function askConfirm(text, action, serial) {
  $("actions").hidden = true;
  $("confirm-text").textContent = text;
  $("confirm-serial-box").hidden = !serial;
  $("confirm-serial").value = "";
  $("confirm-serial-hint").textContent = serial || "";
  $("btn-confirm").disabled = Boolean(serial);
  $("confirm-serial").oninput = () => { $("btn-confirm").disabled = $("confirm-serial").value.trim().toUpperCase() !== serial.toUpperCase(); };
  state.confirmAction = action;
  $("confirm").hidden = false;
  $("btn-confirm-cancel").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("btn-refresh").addEventListener("click", refreshList);
  $("btn-status").addEventListener("click", () => runJob(tokenPath("status")));
  $("btn-report").addEventListener("click", openReport);
  $("btn-report-cancel").addEventListener("click", () => { closePanels(); $("btn-report").focus(); });
  $("consent").addEventListener("change", (e) => { $("btn-report-send").disabled = !e.target.checked; });
  for (const r of document.querySelectorAll('input[name="when"]')) r.addEventListener("change", updateDateLabel);
  $("report-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const when = document.querySelector('input[name="when"]:checked').value;
    const date = $("report-date").value;
    const code = $("report-code").value.trim();
    if (!code) { showMessage("Enter the test code first.", true); $("report-code").focus(); return; }
    if (!date) { showMessage("Enter the date first.", true); $("report-date").focus(); return; }
    runJob(tokenPath("report"), {
      code, consent: $("consent").checked,
      onset: when === "onset" ? date : null, test_date: when === "test" ? date : null,
    }, true);
  });
  $("btn-erase").addEventListener("click", () => askConfirm(
    "Erase this token's history on the token and on the server? This cannot be undone.",
    () => runJob(tokenPath("erase"), { confirm: true })));
  $("btn-retire").addEventListener("click", () => {
    const t = current();
    const serial = t && t.view ? t.view.serial : "";
    askConfirm("Retire this token? It is unregistered from the server and wiped. This cannot be undone.",
      () => runJob(tokenPath("retire"), { confirm: true, serial: $("confirm-serial").value.trim() }), serial);
  });
  $("btn-retry").addEventListener("click", retryQueue);
  $("btn-confirm").addEventListener("click", () => { const a = state.confirmAction; state.confirmAction = null; a && a(); });
  $("btn-confirm-cancel").addEventListener("click", () => { closePanels(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !state.job) closePanels(); });
  refreshList();
  setInterval(refreshList, LIST_EVERY_MS);
});
