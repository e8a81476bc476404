// The studio's screens: sign in, set up a voice, record sentence by sentence, follow the job, hear the voice,
// and compare vendors' voices by blind listening.
import { Api, ApiError, uploadToForm } from "./api.js";
import { Recorder, StreamPlayer, checkTake, encodeWav, toMono16k } from "./audio.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"]);
const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/;
// The speaker's consent statement: the job's first sentence, read before any other.
const CONSENT = "consent";
const CONSENT_LIMITS = { minSeconds: 3, maxSeconds: 40 };
const STATUS_WORDS = {
  AWAITING_AUDIO: "waiting for the recordings",
  CHECKING: "checking the recordings",
  CHECK_FAILED: "some recordings were rejected: record them again (marked below)",
  TRAINING: "training the voice at the vendor",
  SUCCEEDED: "the voice is ready",
  FAILED: "failed",
  CANCELLED: "cancelled",
  EXPIRED: "expired: the recordings did not arrive in time",
};

const state = {
  config: { apiUrl: "", apiKey: "", vendors: [] },
  api: null,
  texts: null, // the vendor's training texts
  job: null,
  index: 0,
  targets: new Map(), // text_id -> unused presigned POST
  // text_id -> what the service said of the sentence when we uploaded a take of it (until it says more)
  uploaded: new Map(),
  take: null, // { textId, wav, check }
  busy: false,
  pollTimer: 0,
  speakVoice: null,
  recorder: null,
};

function langOf(text) { return CJK.test(text) ? "zh-CN" : "en"; }

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

function report(err) {
  showError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
}

function show(id, visible) { $(id).hidden = !visible; }

function setView(view) {
  const recordView = view === "record";
  $("nav-record").setAttribute("aria-current", recordView ? "page" : "false");
  $("nav-library").setAttribute("aria-current", view === "library" ? "page" : "false");
  $("nav-compare").setAttribute("aria-current", view === "compare" ? "page" : "false");
  show("library", view === "library" && state.api !== null);
  show("compare", view === "compare" && state.api !== null);
  show("setup", recordView && state.api !== null && state.job === null);
  show("record", recordView && state.job !== null && !TERMINAL.has(state.job.status));
  show("progress", recordView && state.job !== null);
  show("speak", view !== "compare" && state.speakVoice !== null
    && (recordView ? state.job?.voice_id === state.speakVoice : true));
  if (view !== "compare") stopComparison();
  if (view === "library" && state.api) loadLibrary();
  if (view === "compare" && state.api) loadComparisons();
}

// ----- sign in and set-up --------------------------------------------------------------------------

async function signIn(key) {
  showError("");
  const api = new Api(state.config.apiUrl || window.location.origin, key.trim());
  try {
    await api.request("GET", "/v1/jobs?limit=1");
  } catch (err) {
    report(err);
    return;
  }
  state.api = api;
  sessionStorage.setItem("voiceclone-key", api.apiKey);
  show("signin", false);
  $("sign-out").hidden = false;
  await fillSetup();
  setView("record");
  $("setup-title").setAttribute("tabindex", "-1");
  $("setup-title").focus();
}

function fill(select, values, labels = {}) {
  select.replaceChildren(...values.map((v) => new Option(labels[v] || v, v)));
}

async function fillSetup() {
  let schemas = {};
  try {
    schemas = (await state.api.openapi()).components.schemas;
  } catch (err) {
    schemas = {};
  }
  fill($("gender"), schemas.Gender?.enum || ["female", "male"], { female: "Female", male: "Male" });
  fill($("language"), schemas.Language?.enum || ["zh-CN"], { "zh-CN": "Chinese (Mandarin)" });
  fill($("vendor"), state.config.vendors.length ? state.config.vendors : ["tencent_vrs"]);
  await organisationNeeded();
  await vendorChanged();
}

// The consent statement names the tenant's organisation: asked for here until it is set.
async function organisationNeeded() {
  let settings = { organisation_name: "" };
  try {
    settings = await state.api.settings();
  } catch (err) {
    report(err);
  }
  const missing = !settings.organisation_name;
  show("organisation-field", missing);
  $("organisation-name").required = missing;
}

async function vendorChanged() {
  const vendor = $("vendor").value;
  $("texts-summary").textContent = "";
  $("options").replaceChildren();
  $("documents").replaceChildren();
  try {
    state.texts = await state.api.trainingTexts(vendor);
  } catch (err) {
    report(err);
    return;
  }
  showError("");
  for (const name of state.texts.options) {
    const label = document.createElement("label");
    label.htmlFor = `option-${name}`;
    label.textContent = `Option ${name} (optional)`;
    const input = document.createElement("input");
    input.id = `option-${name}`;
    input.dataset.option = name;
    $("options").append(label, input);
  }
  for (const name of state.texts.documents) {
    const label = document.createElement("label");
    label.htmlFor = `document-${name}`;
    label.textContent = `${name.replaceAll("_", " ")} (PDF, required by ${vendor})`;
    const input = document.createElement("input");
    input.type = "file";
    input.accept = "application/pdf,.pdf";
    input.required = true;
    input.id = `document-${name}`;
    input.dataset.document = name;
    $("documents").append(label, input);
  }
  const names = state.texts.documents.map((d) => `the ${d.replaceAll("_", " ")}`);
  const docs = names.length ? `, and ${names.join(", ")} to upload` : "";
  $("texts-summary").textContent = `${state.texts.texts.length} sentences to read${docs}.`;
}

async function startJob(event) {
  event.preventDefault();
  showError("");
  const options = {};
  for (const input of $("options").querySelectorAll("input")) {
    if (input.value.trim()) options[input.dataset.option] = input.value.trim();
  }
  const files = {};
  for (const input of $("documents").querySelectorAll("input")) {
    if (!input.files.length) {
      showError(`Choose the ${input.dataset.document.replaceAll("_", " ")} file (PDF) first.`);
      input.focus();
      return;
    }
    files[input.dataset.document] = input.files[0];
  }
  $("start").disabled = true;
  try {
    if (!$("organisation-field").hidden) {
      await state.api.setOrganisation($("organisation-name").value.trim());
      show("organisation-field", false);
      $("organisation-name").required = false;
    }
    const job = await state.api.createJob({
      vendor: $("vendor").value,
      voice_name: $("voice-name").value,
      speaker_name: $("speaker-name").value.trim(),
      gender: $("gender").value,
      language: $("language").value,
      options,
    });
    for (const document of job.documents || []) {
      if (document.upload && files[document.name]) {
        await uploadToForm(document.upload, files[document.name], files[document.name].name);
      }
    }
    openJob(job);
    $("rec").focus();
  } catch (err) {
    report(err);
  } finally {
    $("start").disabled = false;
  }
}

function openJob(job) {
  state.job = job;
  state.targets = new Map(job.sentences.filter((s) => s.upload).map((s) => [s.text_id, s.upload]));
  state.uploaded = new Map();
  state.take = null;
  state.speakVoice = job.status === "SUCCEEDED" ? job.voice_id : null;
  state.index = Math.max(0, job.sentences.findIndex(needsRecording));
  setView("record");
  renderSentence();
  renderProgress();
  poll();
}

// ----- recording -----------------------------------------------------------------------------------

function needsRecording(sentence) {
  if (state.uploaded.has(sentence.text_id)) return false;
  return sentence.status === "PENDING_UPLOAD" || sentence.status === "REJECTED";
}

function renderSentence() {
  const sentences = state.job.sentences;
  const sentence = sentences[state.index];
  const todo = sentences.filter(needsRecording).length;
  const training = sentences.filter((s) => s.text_id !== CONSENT);
  const where = sentence.text_id === CONSENT
    ? "Consent statement: the speaker reads it aloud first, in their own voice"
    : `Sentence ${training.indexOf(sentence) + 1} of ${training.length}`;
  $("position").textContent = where + (todo ? ` (${todo} still to record)` : " (all recorded)");
  const el = $("sentence");
  el.textContent = sentence.text;
  el.lang = langOf(sentence.text);
  $("prev").disabled = state.index === 0;
  $("next").disabled = state.index === sentences.length - 1;
  const open = needsRecording(sentence) && ["AWAITING_AUDIO", "CHECK_FAILED"].includes(state.job.status);
  $("rec").disabled = state.busy || (!open && !state.recorder?.recording);
  $("take").hidden = !(state.take && state.take.textId === sentence.text_id);
}

function move(step) {
  if (state.recorder?.recording || state.busy) return;
  const next = state.index + step;
  if (next < 0 || next >= state.job.sentences.length) return;
  state.index = next;
  state.take = null;
  renderSentence();
}

async function toggleRecording() {
  if (state.busy || $("rec").disabled) return;
  state.recorder = state.recorder || new Recorder((peak) => { $("level").value = peak; });
  const button = $("rec");
  if (!state.recorder.recording) {
    showError("");
    state.take = null;
    $("take-check").textContent = "";
    try {
      await state.recorder.start();
    } catch (err) {
      report(err);
      return;
    }
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Stop";
    renderSentence();
    return;
  }
  state.busy = true;
  button.setAttribute("aria-pressed", "false");
  button.textContent = "Record";
  renderSentence();
  const textId = state.job.sentences[state.index].text_id;
  try {
    const blob = await state.recorder.stop();
    const samples = await toMono16k(blob);
    // The statement is longer than a sentence: the service's own limits for it (voiceclone.domain.consent).
    const check = textId === CONSENT ? checkTake(samples, undefined, CONSENT_LIMITS) : checkTake(samples);
    state.take = { textId, wav: encodeWav(samples), check };
    $("take-audio").src = URL.createObjectURL(state.take.wav);
    $("take").hidden = false;
    $("take-actions").hidden = check.ok;
    if (check.ok) {
      $("take-check").textContent = `Take of ${check.seconds.toFixed(1)} s sounds fine: uploading…`;
      await uploadTake();
    } else {
      $("take-check").textContent = `Not uploaded. ${check.problems.map((p) => p.message).join(" ")}`;
    }
  } catch (err) {
    report(err);
  } finally {
    state.busy = false;
    renderSentence();
    // Space records the next take (again, or of the next sentence) without reaching for the mouse.
    if (!$("rec").disabled) $("rec").focus();
  }
}

async function uploadTake() {
  const take = state.take;
  let target = state.targets.get(take.textId);
  state.targets.delete(take.textId);
  if (!target) target = await state.api.newUploadUrl(state.job.job_id, take.textId);
  await uploadToForm(target, take.wav, `${take.textId}.wav`);
  const sentence = state.job.sentences.find((s) => s.text_id === take.textId);
  state.uploaded.set(take.textId, seen(sentence));
  $("take-actions").hidden = true;
  $("take-check").textContent = `Uploaded (${take.check.seconds.toFixed(1)} s); the service checks it now.`;
  sentence.status = "UPLOADED";
  sentence.check = null;
  renderProgress();
  const next = state.job.sentences.findIndex(needsRecording);
  if (next >= 0) {
    state.index = next;
    state.take = null;
  }
}

async function uploadAnyway() {
  if (!state.take || state.busy) return;
  state.busy = true;
  renderSentence();
  try {
    await uploadTake();
  } catch (err) {
    report(err);
  } finally {
    state.busy = false;
    renderSentence();
  }
}

// ----- the job's progress --------------------------------------------------------------------------

function verdict(sentence) {
  if (sentence.status === "PASSED") return "passed";
  if (sentence.status === "REJECTED") return `rejected: ${sentence.check?.message || "record it again"}`;
  if (sentence.status === "UPLOADED" || state.uploaded.has(sentence.text_id)) return "uploaded, being checked";
  return "not recorded yet";
}

function seen(sentence) { return JSON.stringify([sentence.status, sentence.check]); }

function renderProgress() {
  const job = state.job;
  const done = job.sentences.filter((s) => s.status === "PASSED" || s.status === "REJECTED").length;
  const total = job.sentences.length;
  $("checks").max = total;
  $("checks").value = done;
  let words = STATUS_WORDS[job.status] || job.status;
  if (job.status === "FAILED" && job.error) words = `failed: ${job.error.message}`;
  $("job-status").textContent = `Job ${job.voice_name} (${job.vendor}): ${words}. Checks ${done}/${total}.`;
  const items = job.sentences.map((sentence, i) => {
    const li = document.createElement("li");
    li.className = sentence.status;
    li.dataset.textId = sentence.text_id;
    const text = document.createElement("span");
    text.lang = langOf(sentence.text);
    text.textContent = sentence.text;
    const mark = document.createElement("span");
    mark.className = "verdict";
    mark.textContent = ` — ${verdict(sentence)}`;
    li.append(text, mark);
    if (sentence.status === "REJECTED" && !state.uploaded.has(sentence.text_id)) {
      const again = document.createElement("button");
      again.type = "button";
      const number = job.sentences.filter((s) => s.text_id !== CONSENT).indexOf(sentence) + 1;
      again.textContent = sentence.text_id === CONSENT
        ? "Record the consent statement again"
        : `Record sentence ${number} again`;
      again.addEventListener("click", () => {
        state.index = i;
        state.take = null;
        renderSentence();
        $("rec").focus();
      });
      li.append(" ", again);
    }
    return li;
  });
  $("sentences").replaceChildren(...items);
}

async function poll() {
  clearTimeout(state.pollTimer);
  const job = state.job;
  if (!job || TERMINAL.has(job.status)) return;
  try {
    const fresh = await state.api.job(job.job_id);
    if (state.job !== job) return;
    for (const s of fresh.sentences) {
      if (!state.uploaded.has(s.text_id)) continue;
      if (seen(s) !== state.uploaded.get(s.text_id)) state.uploaded.delete(s.text_id); // the service moved on
      else Object.assign(s, { status: "UPLOADED", check: null }); // our upload, not seen there yet
    }
    state.job = fresh;
    renderProgress();
    // Sentences rejected just now: bring the first one up (unless the speaker is on one to record).
    const current = fresh.sentences[state.index];
    const todo = fresh.sentences.findIndex(needsRecording);
    const rejected = fresh.status === "CHECK_FAILED" && job.status !== "CHECK_FAILED";
    if (rejected && todo >= 0 && current && !needsRecording(current) && !state.busy
        && !state.recorder?.recording) {
      state.index = todo;
      state.take = null;
    }
    if (!$("record").hidden) renderSentence();
    if (fresh.status === "SUCCEEDED") {
      state.speakVoice = fresh.voice_id;
      $("speak-voice").textContent = `Voice ${fresh.voice_name} (${fresh.vendor}, ${fresh.voice_id})`;
      setView("record");
      $("speak-text").value ||= fresh.sentences.find((s) => s.text_id !== CONSENT)?.text || "";
      return;
    }
    if (TERMINAL.has(fresh.status)) {
      showError(`The job ended ${fresh.status}${fresh.error ? `: ${fresh.error.message}` : ""}. Start a new voice to try again.`);
      setView("record");
      return;
    }
  } catch (err) {
    report(err);
  }
  state.pollTimer = setTimeout(poll, POLL_MS);
}

// ----- speech --------------------------------------------------------------------------------------

async function download(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new ApiError(0, "DownloadFailed", "The audio could not be downloaded: check your connection and try again.");
  }
  if (!response.ok) throw new ApiError(response.status, "DownloadFailed", "The audio link has lapsed: speak again.");
  return response.blob();
}

const TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

// What POST /v1/provenance found in the file the page plays, in words.
function showLabels(found) {
  const verdict = $("labels-verdict");
  const errors = found.findings.filter((f) => f.severity === "error");
  verdict.textContent = found.ok
    ? "Every label is in place and holds."
    : `A label is missing or altered: ${errors.map((f) => f.message).join("; ")}.`;
  verdict.className = found.ok ? "ok" : "bad";
  $("label-explicit").textContent = found.explicit_label
    ? "The AI rhythm (short-long-short-short) plays at the start."
    : "None: this tenant turned the audible label off.";
  const aigc = found.aigc.fields;
  $("label-aigc").textContent = found.aigc.present && aigc
    ? `AI-generated (Label ${aigc.Label}), by ${aigc.ContentProducer}, content ${aigc.ProduceID}`
      + (found.aigc.audio_matches ? "; it matches the audio." : ".")
    : "None found.";
  const c2pa = found.c2pa;
  $("label-c2pa").textContent = c2pa.present
    ? `${c2pa.state}: ${c2pa.digital_source_type === TRAINED ? "made by a trained model" : "source not stated"}`
      + `${c2pa.signer ? `, signed by ${c2pa.signer}` : ""}.`
    : "None found.";
  show("speak-labels", true);
}

async function speak(event) {
  event.preventDefault();
  const status = $("speak-status");
  const audio = $("speak-audio");
  audio.hidden = true;
  show("speak-labels", false);
  showError("");
  status.textContent = "Speaking…";
  const started = performance.now();
  const player = new StreamPlayer();
  try {
    // The audio plays as it arrives; a vendor without a stream sends the whole file once made.
    const response = await state.api.speakStream(state.speakVoice, $("speak-text").value);
    const speechId = response.headers.get("Voiceclone-Speech-Id");
    const live = response.headers.get("Voiceclone-Stream") === "live";
    const reader = response.body.getReader();
    let firstAudio = 0;
    let cut = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!firstAudio) {
          firstAudio = Math.round(performance.now() - started);
          status.textContent = live
            ? `Speaking: first audio after ${firstAudio} ms…`
            : `The vendor made the whole speech (it does not stream): playing it…`;
        }
        player.push(value);
      }
    } catch (err) {
      cut = true; // the answer ended before its audio did: the speech's record says why
    }
    const speech = await state.api.speech(speechId);
    if (cut || speech.status !== "SUCCEEDED") {
      player.stop();
      const error = speech.error || {};
      status.textContent = `The speech failed at ${speech.vendor}: ${error.code || "StreamCut"}: `
        + `${error.message || "the audio stopped before its end"}. Try again.`;
      return;
    }
    // The bytes played are the bytes whose labels are shown.
    const file = await download(speech.audio_url);
    audio.src = URL.createObjectURL(file);
    audio.hidden = false;
    status.textContent = `Spoken (${Number(speech.duration_seconds).toFixed(1)} s, `
      + (live ? `streamed, first audio after ${firstAudio} ms` : "whole") + "): press play to hear it again.";
    showLabels(await state.api.provenance(file));
  } catch (err) {
    player.stop();
    if (err instanceof ApiError && err.status === 409) {
      status.textContent = `This voice cannot speak through voiceclone: ${err.message}`;
    } else {
      status.textContent = "";
      report(err);
    }
  }
}

// ----- jobs and voices -----------------------------------------------------------------------------

function cell(content) {
  const td = document.createElement("td");
  if (typeof content === "string") td.textContent = content;
  else td.append(...content);
  return td;
}

// A short visible label; screen readers hear the whole one (which voice or job it acts on).
function button(label, onClick, name = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (name) b.setAttribute("aria-label", `${label} ${name}`);
  b.addEventListener("click", onClick);
  return b;
}

function labelled(row, labels) {
  [...row.children].forEach((td, i) => { td.dataset.label = labels[i]; });
  return row;
}

async function loadLibrary() {
  try {
    const [voices, jobs] = await Promise.all([state.api.voices(), state.api.jobs()]);
    $("voice-rows").replaceChildren(...voices.items.map(voiceRow));
    $("job-rows").replaceChildren(...jobs.items.map(jobRow));
    if (!voices.items.length) $("voice-rows").append(emptyRow(4, "No voices yet."));
    if (!jobs.items.length) $("job-rows").append(emptyRow(5, "No jobs yet."));
  } catch (err) {
    report(err);
  }
}

function emptyRow(span, text) {
  const tr = document.createElement("tr");
  const td = cell(text);
  td.colSpan = span;
  tr.append(td);
  return tr;
}

function voiceRow(voice) {
  const tr = document.createElement("tr");
  const name = cell(voice.name);
  name.lang = langOf(voice.name);
  const actions = [];
  if (voice.state !== "DELETED") {
    actions.push(button("Rename", () => renameRow(tr, voice), voice.name));
    actions.push(button("Delete", () => removeVoice(voice), voice.name));
    actions.push(button("Speak", () => {
      state.speakVoice = voice.voice_id;
      $("speak-voice").textContent = `Voice ${voice.name} (${voice.vendor}, ${voice.voice_id})`;
      $("speak-status").textContent = "";
      $("speak-audio").hidden = true;
      show("speak-labels", false);
      show("speak", true);
      $("speak-text").focus();
    }, voice.name));
  }
  tr.append(name, cell(voice.vendor), cell(voice.state), cell(actions));
  return labelled(tr, ["Name", "Vendor", "State", "Actions"]);
}

function renameRow(tr, voice) {
  const form = document.createElement("form");
  const label = document.createElement("label");
  label.textContent = `New name for ${voice.name}`;
  label.htmlFor = `rename-${voice.voice_id}`;
  const input = document.createElement("input");
  input.id = `rename-${voice.voice_id}`;
  input.value = voice.name;
  input.maxLength = 64;
  input.required = true;
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Save";
  form.append(label, input, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const renamed = await state.api.renameVoice(voice.voice_id, input.value);
      if (renamed.note) showError(renamed.note);
      await loadLibrary();
    } catch (err) {
      report(err);
    }
  });
  tr.firstChild.replaceChildren(form);
  input.focus();
}

async function removeVoice(voice) {
  if (!window.confirm(`Delete the voice ${voice.name}? Its recordings are deleted too.`)) return;
  try {
    const deleted = await state.api.deleteVoice(voice.voice_id);
    if (deleted.note) showError(deleted.note);
    await loadLibrary();
  } catch (err) {
    report(err);
  }
}

function jobRow(job) {
  const tr = document.createElement("tr");
  const open = button("Open", async () => {
    try {
      openJob(await state.api.job(job.job_id));
    } catch (err) {
      report(err);
    }
  }, job.voice_name);
  tr.append(cell(job.voice_name), cell(job.vendor), cell(job.status),
    cell(new Date(job.created_at).toLocaleString()), cell([open]));
  return labelled(tr, ["Voice name", "Vendor", "Status", "Created", "Actions"]);
}

// ----- comparisons: blind listening, the ranking, keeping the best -----------------------------------

const compare = { id: null, comparison: null, pair: null, busy: false, timer: 0 };
const COMPARISON_ENDED = new Set(["SUCCEEDED", "PARTLY_SUCCEEDED", "FAILED", "EXPIRED"]);

function stopComparison() {
  clearTimeout(compare.timer);
  compare.id = null;
}

async function loadComparisons() {
  try {
    const page = await state.api.comparisons();
    $("comparison-rows").replaceChildren(...page.items.map(comparisonRow));
    if (!page.items.length) $("comparison-rows").append(emptyRow(5, "No comparisons yet."));
  } catch (err) {
    report(err);
  }
}

function comparisonRow(item) {
  const tr = document.createElement("tr");
  const open = button("Open", () => openComparison(item.comparison_id), item.voice_name);
  tr.append(cell(item.voice_name), cell(item.vendors.join(", ")), cell(item.status),
    cell(new Date(item.created_at).toLocaleString()), cell([open]));
  return labelled(tr, ["Voice name", "Vendors", "Status", "Created", "Actions"]);
}

function hasAudio(vendor) {
  return (vendor.facts?.probes || []).some((p) => p.audio_key);
}

async function openComparison(id) {
  showError("");
  stopComparison();
  compare.id = id;
  compare.pair = null;
  show("listen", false);
  show("ranking", false);
  $("keep-status").textContent = "";
  await refreshComparison();
  show("comparison", true);
  $("comparison-title").focus();
}

// The comparison's vendors (named here, outside the listening), then the listening or the ranking.
async function refreshComparison() {
  clearTimeout(compare.timer);
  const id = compare.id;
  if (!id) return;
  let comparison;
  try {
    comparison = await state.api.comparison(id);
  } catch (err) {
    report(err);
    return;
  }
  if (compare.id !== id) return;
  compare.comparison = comparison;
  $("comparison-title").textContent = `Comparison ${comparison.voice_name}`;
  const heard = comparison.vendors.filter(hasAudio).length;
  const kept = comparison.kept ? ` ${comparison.kept}'s voice was kept; the others were deleted.` : "";
  $("comparison-status").textContent = `${comparison.status}: ${heard} of ${comparison.vendors.length} `
    + `voices ready to listen to.${kept}`;
  $("comparison-vendors").replaceChildren(...comparison.vendors.map((v) => {
    const tr = document.createElement("tr");
    const measured = hasAudio(v) ? "yes, with audio" : v.facts ? "yes, no audio" : "not yet";
    const seconds = v.seconds_to_ready === null || v.seconds_to_ready === undefined ? "" : v.seconds_to_ready.toFixed(1);
    tr.append(cell(v.vendor), cell(STATUS_WORDS[v.status] || v.status), cell(measured), cell(seconds));
    return labelled(tr, ["Vendor", "Job", "Measured", "Seconds to ready"]);
  }));
  if (heard >= 2) {
    await showRanking(false);
    if (!comparison.kept && !compare.pair) await nextPair();
  }
  // Voices still training or not yet measured: look again shortly.
  const waiting = !COMPARISON_ENDED.has(comparison.status)
    || comparison.vendors.some((v) => v.status === "SUCCEEDED" && !v.facts);
  if (waiting && compare.id === id) compare.timer = setTimeout(refreshComparison, 2000);
}

function progressWords(progress) {
  const counts = progress.votes_per_pair.map((n) => `${Math.min(n, progress.needed_per_pair)}/${progress.needed_per_pair}`);
  return `Votes per pair: ${counts.join(", ")}.`
    + (progress.ranking_ready ? " The ranking is ready below; you may keep listening." : "");
}

async function nextPair() {
  try {
    compare.pair = await state.api.newPair(compare.id);
  } catch (err) {
    compare.pair = null;
    show("listen", false);
    if (!(err instanceof ApiError && err.status === 409)) report(err);
    return;
  }
  const pair = compare.pair;
  $("listen").dataset.pair = pair.pair_id; // opaque: what a vote names, nothing of who is A or B
  $("listen-text").textContent = pair.text;
  $("listen-text").lang = langOf(pair.text);
  $("listen-a").src = pair.a;
  $("listen-b").src = pair.b;
  $("listen-progress").textContent = progressWords(pair.progress);
  for (const id of ["vote-a", "vote-b", "vote-same"]) $(id).disabled = false;
  show("listen", true);
}

function play(side) {
  if ($("listen").hidden) return;
  const mine = $(`listen-${side}`);
  const other = $(`listen-${side === "a" ? "b" : "a"}`);
  other.pause();
  mine.currentTime = 0;
  mine.play().catch((err) => report(err));
}

async function vote(choice) {
  const pair = compare.pair;
  if (!pair || compare.busy || $("listen").hidden) return;
  compare.busy = true;
  for (const id of ["vote-a", "vote-b", "vote-same"]) $(id).disabled = true;
  $("listen-a").pause();
  $("listen-b").pause();
  try {
    const voted = await state.api.vote(compare.id, pair.pair_id, choice);
    $("listen-progress").textContent = progressWords(voted.progress);
    if (voted.progress.ranking_ready) await showRanking(true);
    compare.pair = null;
    await nextPair();
  } catch (err) {
    report(err);
    compare.pair = null;
    await nextPair();
  } finally {
    compare.busy = false;
  }
}

async function showRanking(focus) {
  let ranked;
  try {
    ranked = await state.api.ranking(compare.id);
  } catch (err) {
    show("ranking", false);
    if (!(err instanceof ApiError && err.status === 409)) report(err);
    return;
  }
  const fixed = (value, digits) => (value === null || value === undefined ? "" : Number(value).toFixed(digits));
  $("ranking-method").textContent = `${ranked.votes} blind votes, ranked by the Bradley–Terry model `
    + `(every pair heard at least ${ranked.needed_per_pair} times; "same" counts half a win to each).`;
  $("ranking-rows").replaceChildren(...ranked.vendors.map((v) => {
    const tr = document.createElement("tr");
    const f = v.facts || {};
    tr.append(cell(String(v.rank)), cell(v.vendor), cell(fixed(v.strength, 3)),
      cell(`${v.wins} / ${v.losses} / ${v.same}`), cell(`${Math.round(v.win_rate * 100)}%`),
      cell(fixed(f.first_audio_seconds, 2)), cell(fixed(f.real_time_factor, 2)), cell(fixed(f.speech_dbfs, 1)),
      cell(f.price || ""), cell(fixed(v.seconds_to_ready, 1)));
    return labelled(tr, ["Rank", "Vendor", "Strength", "Wins / losses / same", "Win rate", "First audio (s)",
      "Real-time factor", "Speech level (dBFS)", "Price per 1,000 characters", "Seconds to ready"]);
  }));
  const best = ranked.vendors[0];
  const keep = $("keep");
  keep.hidden = Boolean(ranked.kept);
  keep.textContent = `Keep ${best.vendor} and delete the others`;
  keep.dataset.vendor = best.vendor;
  if (ranked.kept) $("keep-status").textContent = `${ranked.kept}'s voice was kept; the others were deleted.`;
  show("ranking", true);
  if (focus) $("ranking-title").focus();
}

async function keepBest() {
  const vendor = $("keep").dataset.vendor;
  const others = compare.comparison.vendors.filter((v) => v.vendor !== vendor && v.voice_id).map((v) => v.vendor);
  const question = `Keep ${vendor}'s voice and delete the other voices (${others.join(", ")}), `
    + "at their vendors too where they allow it? This cannot be undone.";
  if (!window.confirm(question)) return;
  $("keep").disabled = true;
  try {
    const kept = await state.api.keep(compare.id, vendor);
    const notes = kept.deleted.filter((d) => d.note).map((d) => ` ${d.vendor}: ${d.note}`);
    $("keep-status").textContent = `Kept ${kept.kept}'s voice; deleted ${kept.deleted.map((d) => d.vendor).join(", ")}.`
      + notes.join("");
    $("keep").hidden = true;
    show("listen", false);
    compare.pair = null;
  } catch (err) {
    report(err);
  } finally {
    $("keep").disabled = false;
  }
}

// ----- wiring --------------------------------------------------------------------------------------

function typing(target) {
  return ["INPUT", "TEXTAREA", "SELECT", "AUDIO"].includes(target.tagName) || target.isContentEditable;
}

// The listening panel's keys: A and B play a voice, 1 / 2 / 0 vote A, B or same.
const LISTEN_KEYS = { a: () => play("a"), b: () => play("b"), 1: () => vote("a"), 2: () => vote("b"), 0: () => vote("same") };

function onKey(event) {
  if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
  const listenKey = LISTEN_KEYS[event.key.toLowerCase()];
  if (!$("listen").hidden && !$("compare").hidden && listenKey) {
    event.preventDefault();
    listenKey();
    return;
  }
  if ($("record").hidden) return;
  if (event.key === " " && event.target.tagName !== "BUTTON") {
    event.preventDefault();
    toggleRecording();
  } else if (event.key === "ArrowLeft") {
    event.preventDefault();
    move(-1);
  } else if (event.key === "ArrowRight") {
    event.preventDefault();
    move(1);
  }
}

async function init() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) Object.assign(state.config, await response.json());
  } catch (err) {
    // No config: the API is where the studio is served from, and no key is filled in.
  }
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("api-key").value); });
  $("setup-form").addEventListener("submit", startJob);
  $("vendor").addEventListener("change", vendorChanged);
  $("rec").addEventListener("click", toggleRecording);
  $("prev").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("again").addEventListener("click", () => { state.take = null; renderSentence(); $("rec").focus(); });
  $("upload-anyway").addEventListener("click", uploadAnyway);
  $("speak-form").addEventListener("submit", speak);
  $("nav-record").addEventListener("click", () => setView("record"));
  $("nav-library").addEventListener("click", () => {
    if (!state.api) { showError("Sign in with your API key first."); $("api-key").focus(); return; }
    setView("library");
  });
  $("reload").addEventListener("click", loadLibrary);
  $("nav-compare").addEventListener("click", () => {
    if (!state.api) { showError("Sign in with your API key first."); $("api-key").focus(); return; }
    setView("compare");
  });
  $("compare-reload").addEventListener("click", loadComparisons);
  $("play-a").addEventListener("click", () => play("a"));
  $("play-b").addEventListener("click", () => play("b"));
  $("vote-a").addEventListener("click", () => vote("a"));
  $("vote-b").addEventListener("click", () => vote("b"));
  $("vote-same").addEventListener("click", () => vote("same"));
  $("keep").addEventListener("click", keepBest);
  $("sign-out").addEventListener("click", () => { sessionStorage.removeItem("voiceclone-key"); window.location.reload(); });
  document.addEventListener("keydown", onKey);
  const key = sessionStorage.getItem("voiceclone-key") || state.config.apiKey || "";
  $("api-key").value = key;
  document.body.dataset.ready = "true";
}

init();
