// The kiosk page: lists tokens, shows the selected one, runs flows as jobs and polls them.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { tokens: [], selected: null, job: null, confirmAction: null, listing: false };
const LIST_EVERY_MS = 4000;
const JOB_EVERY_MS = 300;
const STAGES = {
  info: "Reading the token", clock: "Setting the token's clock", status: "Asking the server",
  store: "Saving the result on the token", bundle: "Writing new identifiers to the token",
  history: "Reading the history from the token", upload: "Sending the report to the server",
  server: "Telling the server", token: "Updating the token", done: "Finishing", starting: "Starting",
};

async function api(method, path, body) {
  let answer;
  try {
    answer = await fetch(path, {
      method, headers: body ? { "Content-Type": "application/json" } : {},
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

function headlineClass(view) {
  if (!view) return "off";
  if (view.state === "not_provisioned") return "off";
  if (view.risk_level > 0) return "risk";
  if (view.headline === "Not at risk") return "ok";
  return "warn";
}

function formatDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" });
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
  h.textContent = v ? v.headline : "Token not answering";
  h.className = "headline " + headlineClass(v);
  $("details").hidden = !v;
  if (v) {
    $("d-tuples").textContent = formatDate(v.tuples_until);
    $("d-battery").textContent = v.battery_pct == null ? "—" : `${v.battery_pct} %`;
    $("d-hellos").textContent = String(v.log_hellos);
  }
  if (!v && t.error && !state.job) showMessage(t.error, true);
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
}

function select(id) {
  state.selected = id;
  closePanels();
  showMessage("", false);
  renderList();
  renderToken();
  if (!$("btn-status").disabled) $("btn-status").focus();
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
  status: (r) => `Status checked: ${r.token.headline}.` + (r.tuples_written ? ` The token is protected until ${formatDate(r.token.tuples_until)}.` : ""),
  report: (r) => !r.acknowledged ? r.message
    : r.contacts === 0 ? "Report accepted by the server. The token had recorded no contacts in the period. Thank the holder."
    : `Report accepted by the server: ${r.contacts} contact${r.contacts === 1 ? "" : "s"} sent. Thank the holder.`,
  erase: (r) => `History erased: ${r.erased_on_token} records removed from the token and the server was told.`,
  retire: (r) => `Token ${r.serial} retired: unregistered and wiped. It can go back to provisioning.`,
};

async function runJob(path, body) {
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
  if (job.state === "done") showMessage(DONE_TEXT[job.kind](job.result), false, job.kind === "status");
  else showMessage(job.error, true);
  const t = current();
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

function askConfirm(text, action) {
  $("actions").hidden = true;
  $("confirm-text").textContent = text;
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
    });
  });
  $("btn-erase").addEventListener("click", () => askConfirm(
    "Erase this token's history on the token and on the server? This cannot be undone.",
    () => runJob(tokenPath("erase"), { confirm: true })));
  $("btn-retire").addEventListener("click", () => askConfirm(
    "Retire this token? It is unregistered from the server and wiped. This cannot be undone.",
    () => runJob(tokenPath("retire"), { confirm: true })));
  $("btn-confirm").addEventListener("click", () => { const a = state.confirmAction; state.confirmAction = null; a && a(); });
  $("btn-confirm-cancel").addEventListener("click", () => { closePanels(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !state.job) closePanels(); });
  refreshList();
  setInterval(refreshList, LIST_EVERY_MS);
});
