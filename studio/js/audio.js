// A take in the browser: resampled to 16 kHz mono, checked like the service will, encoded as 16-bit WAV.

export const SAMPLE_RATE = 16000;
// The same rules as the service's inspection (functions/voiceclone/domain/audio.py), so most problems are
// caught before the upload; the service's verdict after the upload is the one that counts.
const FRAME_SECONDS = 0.02;
const MARGIN_SECONDS = 0.25;
const SILENT_PEAK_DBFS = -40;
const SILENT_RMS_DBFS = -50;
const QUIET_SPEECH_DBFS = -35;
const CLIPPED_FRACTION = 0.001;
const CLIP_LEVEL = 32766 / 32768;

export function dbfs(level) {
  return level > 0 ? 20 * Math.log10(level) : -120;
}

// Decode what MediaRecorder made and resample it to 16 kHz mono with an OfflineAudioContext.
export async function toMono16k(blob) {
  const encoded = await blob.arrayBuffer();
  const decoder = new AudioContext();
  let decoded;
  try {
    decoded = await decoder.decodeAudioData(encoded);
  } finally {
    decoder.close();
  }
  const frames = Math.max(1, Math.ceil(decoded.duration * SAMPLE_RATE));
  const offline = new OfflineAudioContext(1, frames, SAMPLE_RATE);
  const source = offline.createBufferSource();
  source.buffer = decoded; // more channels are mixed down to the one of the context
  source.connect(offline.destination);
  source.start();
  const rendered = await offline.startRendering();
  return rendered.getChannelData(0);
}

// 16-bit PCM mono WAV of float samples in [-1, 1].
export function encodeWav(samples, rate = SAMPLE_RATE) {
  const data = samples.length * 2;
  const buffer = new ArrayBuffer(44 + data);
  const view = new DataView(buffer);
  const text = (offset, value) => { for (let i = 0; i < value.length; i++) view.setUint8(offset + i, value.charCodeAt(i)); };
  text(0, "RIFF");
  view.setUint32(4, 36 + data, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, data, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? Math.round(s * 32768) : Math.round(s * 32767), true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}

// The problems of a take, in words the speaker can act on; none means it can go.
export function checkTake(samples, rate = SAMPLE_RATE, limits = { minSeconds: 1, maxSeconds: 15 }) {
  const n = Math.max(1, Math.round(rate * FRAME_SECONDS));
  const levels = [];
  let peak = 0;
  let power = 0;
  let clipped = 0;
  for (let i = 0; i < samples.length; i += n) {
    let sum = 0;
    const end = Math.min(samples.length, i + n);
    for (let j = i; j < end; j++) {
      const v = samples[j];
      const a = Math.abs(v);
      sum += v * v;
      if (a > peak) peak = a;
      if (a >= CLIP_LEVEL) clipped++;
    }
    power += sum;
    levels.push(dbfs(Math.sqrt(sum / (end - i))));
  }
  const total = samples.length / rate;
  const rmsDb = dbfs(Math.sqrt(power / Math.max(1, samples.length)));
  const peakDb = dbfs(peak);
  const sorted = [...levels].sort((a, b) => a - b);
  const loud = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? -120;
  const quiet = sorted[Math.floor(sorted.length * 0.1)] ?? -120;
  const threshold = Math.max(loud - 35, (loud + quiet) / 2);
  const speech = levels.map((l, i) => (l >= threshold ? i : -1)).filter((i) => i >= 0);
  let seconds = total;
  let speechDb = rmsDb;
  if (speech.length && loud > SILENT_RMS_DBFS) {
    const first = speech[0];
    const last = speech[speech.length - 1];
    // Leading and trailing silence cut to the margin, as the service cuts it before it measures.
    const margin = Math.round(rate * MARGIN_SECONDS);
    const begin = Math.max(0, first * n - margin);
    const end = Math.min(samples.length, (last + 1) * n + margin);
    seconds = (end - begin) / rate;
    const p = speech.reduce((acc, i) => acc + 10 ** (levels[i] / 10), 0) / speech.length;
    speechDb = 10 * Math.log10(p);
  }
  const problems = [];
  if (peakDb < SILENT_PEAK_DBFS || rmsDb < SILENT_RMS_DBFS || !speech.length) {
    problems.push({ code: "SILENT",
      message: `Silent (peak ${peakDb.toFixed(0)} dBFS): check that the right microphone is chosen and not muted, then record again.` });
  } else if (speechDb < QUIET_SPEECH_DBFS) {
    problems.push({ code: "TOO_QUIET",
      message: `Too quiet (speech at ${speechDb.toFixed(0)} dBFS): move closer to the microphone or speak up, then record again.` });
  }
  if (clipped / Math.max(1, samples.length) > CLIPPED_FRACTION) {
    problems.push({ code: "CLIPPED",
      message: "Distorted (the take hits the loudness limit): move back from the microphone or lower its gain, then record again." });
  }
  if (seconds < limits.minSeconds) {
    problems.push({ code: "TOO_SHORT",
      message: `Too short (${seconds.toFixed(1)} s, at least ${limits.minSeconds} s): read the whole sentence, then stop.` });
  } else if (seconds > limits.maxSeconds) {
    problems.push({ code: "TOO_LONG",
      message: `Too long (${seconds.toFixed(1)} s, at most ${limits.maxSeconds} s): read only this sentence, without long pauses.` });
  }
  return { ok: problems.length === 0, problems, seconds, peakDb, speechDb };
}

// Microphone, live level and MediaRecorder for one take at a time.
export class Recorder {
  constructor(onLevel) {
    this.onLevel = onLevel;
    this.stream = null;
    this.context = null;
    this.analyser = null;
    this.media = null;
    this.chunks = [];
    this.frame = 0;
  }

  get recording() { return this.media !== null && this.media.state === "recording"; }

  async open() {
    if (this.stream) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser cannot record here: open the studio over HTTPS (or localhost) in a current browser.");
    }
    try {
      // Raw audio: noise suppression and gain control would change the voice the vendor learns.
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
      });
    } catch (err) {
      throw new Error(err && err.name === "NotAllowedError"
        ? "The microphone is blocked: allow it for this page in the browser's site settings, then press Record again."
        : "No microphone found: plug one in (or choose it in the system settings), then press Record again.");
    }
    this.context = new AudioContext();
    const source = this.context.createMediaStreamSource(this.stream);
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    source.connect(this.analyser);
    const buffer = new Float32Array(this.analyser.fftSize);
    const tick = () => {
      this.analyser.getFloatTimeDomainData(buffer);
      let peak = 0;
      for (const v of buffer) peak = Math.max(peak, Math.abs(v));
      this.onLevel(peak);
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  async start() {
    await this.open();
    if (this.context.state === "suspended") await this.context.resume();
    this.chunks = [];
    const media = new MediaRecorder(this.stream);
    media.ondataavailable = (event) => { if (event.data.size) this.chunks.push(event.data); };
    // Resolved once the recorder gathers sound (its start event), not when it is asked to: on a busy
    // device that comes noticeably later, and a speaker who starts reading when the button says
    // "Stop" must not lose the sentence's first words.
    await new Promise((resolve, reject) => {
      media.onstart = resolve;
      media.onerror = (event) => reject(event.error || new Error("The recording could not start."));
      this.media = media;
      media.start();
    });
  }

  stop() {
    return new Promise((resolve) => {
      const media = this.media;
      media.onstop = () => {
        this.media = null;
        resolve(new Blob(this.chunks, { type: media.mimeType }));
      };
      media.stop();
    });
  }

  close() {
    cancelAnimationFrame(this.frame);
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context) this.context.close();
    this.stream = this.context = this.analyser = null;
  }
}

// ----- speech as it arrives ----------------------------------------------------------------------------

// How far ahead of the clock the first audio is scheduled: a small jitter buffer, so that a chunk that
// comes a little late still plays on time and the joins between chunks stay seamless.
const LEAD_SECONDS = 0.15;

// A data chunk whose size is this runs to the end of the file (a streamed WAV: its length unknown).
const UNKNOWN_SIZE = 0xFFFFFFFF;

// Plays a WAV that arrives in pieces with Web Audio, each piece scheduled right after the one before:
// the header is read once (its rate, and the chunks before the samples: the AI label's among them; its
// sizes may be unknown), then every 16-bit sample as it comes, up to the data chunk's end where it has
// one (a whole file's content credentials follow its samples: they are not sound).
export class StreamPlayer {
  constructor() {
    this.head = new Uint8Array(0);
    this.rate = 0;
    this.remaining = Infinity;
    this.carry = null;
    this.context = null;
    this.next = 0;
  }

  push(bytes) {
    let data = bytes;
    if (!this.rate) {
      data = this.readHeader(data);
      if (!this.rate) return;
    }
    if (data.length > this.remaining) data = data.subarray(0, this.remaining);
    this.remaining -= data.length;
    if (this.carry !== null) {
      const joined = new Uint8Array(data.length + 1);
      joined[0] = this.carry;
      joined.set(data, 1);
      data = joined;
      this.carry = null;
    }
    const even = data.length - (data.length % 2);
    if (even < data.length) this.carry = data[even];
    if (!even) return;
    const view = new DataView(data.buffer, data.byteOffset, even);
    const samples = new Float32Array(even / 2);
    for (let i = 0; i < samples.length; i += 1) samples[i] = view.getInt16(i * 2, true) / 32768;
    if (this.context === null) {
      this.context = new AudioContext({ sampleRate: this.rate });
      this.next = this.context.currentTime + LEAD_SECONDS;
    }
    const buffer = this.context.createBuffer(1, samples.length, this.rate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const at = Math.max(this.next, this.context.currentTime);
    source.start(at);
    this.next = at + buffer.duration;
  }

  // The bytes after the header once it is whole (its "data" chunk found); until then, none.
  readHeader(bytes) {
    const head = new Uint8Array(this.head.length + bytes.length);
    head.set(this.head);
    head.set(bytes, this.head.length);
    this.head = head;
    const view = new DataView(head.buffer);
    const tag = (at) => String.fromCharCode(...head.subarray(at, at + 4));
    if (head.length < 12) return new Uint8Array(0);
    if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error("The speech is not WAV audio.");
    let at = 12;
    let rate = 0;
    while (at + 8 <= head.length) {
      const size = view.getUint32(at + 4, true);
      if (tag(at) === "fmt " && at + 16 <= head.length) rate = view.getUint32(at + 12, true);
      if (tag(at) === "data") {
        this.rate = rate;
        this.remaining = size === UNKNOWN_SIZE ? Infinity : size;
        this.head = new Uint8Array(0);
        return head.subarray(at + 8);
      }
      at += 8 + size + (size % 2);
    }
    return new Uint8Array(0);
  }

  stop() {
    if (this.context !== null) this.context.close();
  }
}
