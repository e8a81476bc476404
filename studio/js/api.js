// The public REST API of voiceclone, and S3's presigned POST forms: the only things the studio talks to.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What to do about an answer without a message of the service's own.
const ADVICE = {
  401: "The API key was not accepted: check it (Authorization: Bearer vck_...) and sign in again.",
  403: "This API key may not do that: sign in with another key.",
  404: "Not found: it may have been deleted; reload the list.",
  429: "Too many requests: wait a few seconds and try again.",
  502: "The vendor did not answer as expected: try again in a minute.",
  503: "The service is busy or a vendor is unavailable: try again in a minute.",
};

function parsed(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch (err) {
    return null;
  }
}

// The error of an answer that is not OK, in the service's words where it gave some.
function failure(status, data) {
  const message = (data && (data.message || data.error)) || ADVICE[status] || `The API answered ${status}: try again.`;
  const advice = status === 401 ? ADVICE[401] : message;
  return new ApiError(status, (data && data.error) || String(status), advice);
}

export class Api {
  constructor(baseUrl, apiKey) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiKey = apiKey;
  }

  async request(method, path, body) {
    const headers = { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "Unreachable",
        `Cannot reach the API at ${this.baseUrl}: check your connection and try again.`);
    }
    const text = await response.text();
    const data = parsed(text);
    if (!response.ok) throw failure(response.status, data);
    return { status: response.status, data };
  }

  // Speech as it is made (POST .../speech/stream): the answer whose body the caller reads as it comes.
  // WAV: one header (its sizes unknown while it streams), then 16-bit mono PCM. Voiceclone-Stream says
  // "live" (as the vendor makes it) or "whole" (the vendor has no stream: the file once made).
  async speakStream(voiceId, text) {
    let response;
    try {
      response = await fetch(`${this.baseUrl}/v1/voices/${encodeURIComponent(voiceId)}/speech/stream`, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.apiKey}`, "Content-Type": "application/json", Accept: "audio/wav" },
        body: JSON.stringify({ text, format: "wav" }),
      });
    } catch (err) {
      throw new ApiError(0, "Unreachable",
        `Cannot reach the API at ${this.baseUrl}: check your connection and try again.`);
    }
    if (!response.ok) throw failure(response.status, parsed(await response.text()));
    return response;
  }

  get(path) { return this.request("GET", path).then((r) => r.data); }

  trainingTexts(vendor) { return this.get(`/v1/vendors/${encodeURIComponent(vendor)}/training-texts`); }
  createJob(body) { return this.request("POST", "/v1/jobs", body).then((r) => r.data); }

  settings() { return this.request("GET", "/v1/settings").then((r) => r.data); }

  setOrganisation(name) {
    return this.request("PATCH", "/v1/settings", { organisation_name: name }).then((r) => r.data);
  }
  job(jobId) { return this.get(`/v1/jobs/${encodeURIComponent(jobId)}`); }
  jobs() { return this.get("/v1/jobs?limit=50"); }
  voices() { return this.get("/v1/voices?limit=50"); }
  newUploadUrl(jobId, textId) {
    return this.request("POST",
      `/v1/jobs/${encodeURIComponent(jobId)}/sentences/${encodeURIComponent(textId)}/upload-url`)
      .then((r) => r.data);
  }
  renameVoice(voiceId, name) {
    return this.request("PATCH", `/v1/voices/${encodeURIComponent(voiceId)}`, { name }).then((r) => r.data);
  }
  deleteVoice(voiceId) {
    return this.request("DELETE", `/v1/voices/${encodeURIComponent(voiceId)}`).then((r) => r.data);
  }
  // 201: the audio is there (audio_url); 202: poll speech(speech_id) until SUCCEEDED or FAILED.
  speak(voiceId, text) {
    return this.request("POST", `/v1/voices/${encodeURIComponent(voiceId)}/speech`, { text, format: "wav" });
  }
  speech(speechId) { return this.get(`/v1/speech/${encodeURIComponent(speechId)}`); }
  // What an audio file carries: its C2PA manifest, its GB 45438 label, the audible label (the file itself
  // is the body, as the studio played it).
  async provenance(blob) {
    let response;
    try {
      response = await fetch(`${this.baseUrl}/v1/provenance`, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json",
          "Content-Type": blob.type === "audio/mpeg" ? "audio/mpeg" : "audio/wav" },
        body: blob,
      });
    } catch (err) {
      throw new ApiError(0, "Unreachable", `Cannot reach the API at ${this.baseUrl} to check the labels.`);
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, data?.error || String(response.status),
        data?.message || ADVICE[response.status] || `The API answered ${response.status}.`);
    }
    return data;
  }
  openapi() { return this.get("/v1/openapi.json"); }

  // Comparisons and blind listening: the pair names no vendor; the ranking answers 409 until it is ready.
  comparisons() { return this.get("/v1/comparisons?limit=50"); }
  comparison(id) { return this.get(`/v1/comparisons/${encodeURIComponent(id)}`); }
  newPair(id) {
    return this.request("POST", `/v1/comparisons/${encodeURIComponent(id)}/pairs`).then((r) => r.data);
  }
  vote(id, pairId, choice) {
    return this.request("POST", `/v1/comparisons/${encodeURIComponent(id)}/votes`, { pair_id: pairId, choice })
      .then((r) => r.data);
  }
  ranking(id) { return this.get(`/v1/comparisons/${encodeURIComponent(id)}/ranking`); }
  keep(id, vendor) {
    return this.request("POST", `/v1/comparisons/${encodeURIComponent(id)}/keep`, { vendor }).then((r) => r.data);
  }
}

// Send a file to a presigned S3 POST: the form's fields first, then the file (S3 wants it last).
export async function uploadToForm(target, blob, filename) {
  if (blob.size > target.max_bytes) {
    throw new ApiError(413, "TooLarge",
      `The file is ${Math.ceil(blob.size / 1024)} KiB, at most ${Math.floor(target.max_bytes / 1024)} KiB `
      + "is taken: record a shorter take.");
  }
  const form = new FormData();
  for (const [key, value] of Object.entries(target.fields)) form.append(key, value);
  form.append("file", blob, filename);
  let response;
  try {
    response = await fetch(target.url, { method: "POST", body: form });
  } catch (err) {
    throw new ApiError(0, "UploadUnreachable",
      "The upload did not reach storage: check your connection and upload the take again.");
  }
  if (!response.ok) {
    const xml = await response.text();
    const code = (xml.match(/<Code>([^<]*)<\/Code>/) || [])[1] || String(response.status);
    const detail = (xml.match(/<Message>([^<]*)<\/Message>/) || [])[1] || `HTTP ${response.status}`;
    const expired = code === "AccessDenied" || /expired/i.test(detail);
    throw new ApiError(response.status, code, expired
      ? `Storage refused the upload (${detail}): the upload link may have expired; record the take again.`
      : `Storage refused the upload (${detail}): record the take again.`);
  }
}
