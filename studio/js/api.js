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
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && (data.message || data.error)) || ADVICE[response.status]
        || `The API answered ${response.status}: try again.`;
      const advice = response.status === 401 ? ADVICE[401] : message;
      throw new ApiError(response.status, (data && data.error) || String(response.status), advice);
    }
    return { status: response.status, data };
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
  openapi() { return this.get("/v1/openapi.json"); }
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
