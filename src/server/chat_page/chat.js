"use strict";
/* The chat page: sends the conversation to /v1/chat/completions with stream: true, shows the
 * streamed answer (Markdown) and reasoning (folded), attaches images and audio (files or the
 * microphone, recorded as 16 kHz mono WAV), and keeps the conversation in localStorage. */

const CONVERSATION_KEY = "g4.chat.conversation";
const API_KEY_KEY = "g4.chat.apiKey";
const THINKING_KEY = "g4.chat.thinking";
const WAV_RATE = 16000;

const ui = Object.fromEntries([
  "model-name", "thinking", "new-chat", "api-key-form", "api-key", "messages", "empty-hint",
  "composer", "attachments", "status", "file-input", "record", "prompt", "send", "stop",
].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), document.getElementById(id)]));

/* A message: {role: "user"|"assistant", text, media: [{kind: "image"|"audio", name, url,
 * format}], reasoning, error, note}; media urls are data: URIs. */
const state = {
  messages: loadConversation(),
  pending: [],
  model: "",
  controller: null,
  recorder: null,
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", isError);
}

/* ---- storage ---- */

function loadConversation() {
  try {
    const saved = JSON.parse(localStorage.getItem(CONVERSATION_KEY));
    return Array.isArray(saved)
      ? saved.filter((m) => m && (m.role === "user" || m.role === "assistant") && typeof m.text === "string")
      : [];
  } catch {
    return [];
  }
}

/* Media can outgrow the browser's storage quota: then the text is kept without them. */
function saveConversation() {
  try {
    localStorage.setItem(CONVERSATION_KEY, JSON.stringify(state.messages));
  } catch {
    const withoutMedia = state.messages.map((m) =>
      m.media && m.media.length ? { ...m, media: [], note: "attachments not kept: browser storage is full" } : m);
    try {
      localStorage.setItem(CONVERSATION_KEY, JSON.stringify(withoutMedia));
    } catch {
      showStatus("The conversation could not be saved in this browser.", true);
    }
  }
}

function apiKey() {
  return localStorage.getItem(API_KEY_KEY) || "";
}

function authHeaders() {
  return apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {};
}

/* ---- rendering ---- */

function mediaElement(media) {
  const box = element("div", "media");
  for (const item of media) {
    const node = element(item.kind === "image" ? "img" : "audio");
    node.src = item.url;
    if (item.kind === "image") node.alt = item.name;
    else {
      node.controls = true;
      node.setAttribute("aria-label", item.name);
    }
    box.append(node);
  }
  return box;
}

function messageElement(message) {
  const item = element("li", `msg ${message.role}`);
  item.append(element("div", "role", message.role === "user" ? "You" : state.model || "Assistant"));
  if (message.media && message.media.length) item.append(mediaElement(message.media));
  if (message.role === "user") {
    item.append(element("div", "content user-text", message.text));
  } else {
    const details = element("details", "reasoning");
    details.append(element("summary", "", "Thinking"), element("div", "content reasoning-text"));
    item.append(details, element("div", "content answer"));
  }
  item.append(element("p", "note"));
  updateMessageElement(item, message);
  return item;
}

function updateMessageElement(item, message) {
  if (message.role === "assistant") {
    const details = item.querySelector("details");
    details.hidden = !message.reasoning;
    details.querySelector(".reasoning-text").innerHTML = renderMarkdown(message.reasoning || "");
    item.querySelector(".answer").innerHTML = renderMarkdown(message.text || "");
  }
  const note = item.querySelector(".note");
  note.textContent = message.error || message.note || "";
  note.className = message.error ? "note error" : "note";
  note.hidden = !note.textContent;
}

/* The end of the page: the last message, just above the composer. */
function scrollToEnd() {
  window.scrollTo(0, document.documentElement.scrollHeight);
}

/* Whether the reader is at the end of the page (and so follows a growing answer). */
function atBottom() {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 48;
}

function appendMessage(message) {
  const item = messageElement(message);
  ui.messages.append(item);
  ui.emptyHint.hidden = true;
  scrollToEnd();
  return item;
}

function renderConversation() {
  ui.messages.replaceChildren();
  state.messages.forEach(appendMessage);
  ui.emptyHint.hidden = state.messages.length > 0;
}

function renderAttachments() {
  ui.attachments.replaceChildren(...state.pending.map((item, index) => {
    const chip = element("li");
    const remove = element("button", "", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${item.name}`);
    remove.addEventListener("click", () => {
      state.pending.splice(index, 1);
      renderAttachments();
    });
    chip.append(mediaElement([item]).firstChild, element("span", "", item.name), remove);
    return chip;
  }));
}

/* ---- the request ---- */

function mediaPart(item) {
  if (item.kind === "image") return { type: "image_url", image_url: { url: item.url } };
  const data = item.url.slice(item.url.indexOf(",") + 1);
  return { type: "input_audio", input_audio: { data, format: item.format } };
}

function apiMessage(message) {
  if (message.role === "assistant" || !message.media || !message.media.length)
    return { role: message.role, content: message.text };
  const parts = message.media.map(mediaPart);
  if (message.text) parts.push({ type: "text", text: message.text });
  return { role: message.role, content: parts };
}

function requestBody(history) {
  return {
    model: state.model || "g4",
    stream: true,
    messages: history.filter((m) => m.role === "user" || m.text).map(apiMessage),
    chat_template_kwargs: { enable_thinking: ui.thinking.checked },
  };
}

async function httpError(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body.error) message = body.error.message || body.error;
  } catch { /* not JSON: the status line says enough */ }
  const error = new Error(message);
  error.status = response.status;
  return error;
}

/* Calls onData with each parsed "data: {...}" event until "data: [DONE]" or the end. */
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value, { stream: !done });
    const lines = buffer.split(/\r?\n/);
    buffer = done ? "" : lines.pop();
    for (const line of lines) {
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return;
      onData(JSON.parse(data));
    }
    if (done) return;
  }
}

function applyEvent(reply, event) {
  if (event.error) throw new Error(event.error.message || String(event.error));
  const choice = event.choices && event.choices[0];
  if (!choice) return;
  const delta = choice.delta || {};
  reply.text += delta.content || "";
  reply.reasoning += delta.reasoning_content || "";
  if (choice.finish_reason === "length") reply.note = "The answer reached the length limit.";
}

/* Re-renders at most once a frame, however fast the tokens come; scrolls along unless the
 * reader has scrolled up. */
function renderer(item, reply) {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      const following = atBottom();
      updateMessageElement(item, reply);
      if (following) scrollToEnd();
    });
  };
}

function setBusy(controller) {
  state.controller = controller;
  ui.send.hidden = Boolean(controller);
  ui.stop.hidden = !controller;
  ui.messages.setAttribute("aria-busy", String(Boolean(controller)));
}

/* 401: the request is taken back into the composer and the key field shown. */
function askForApiKey(user, error) {
  state.messages.splice(state.messages.indexOf(user));
  renderConversation();
  ui.prompt.value = user.text;
  state.pending = user.media;
  renderAttachments();
  ui.apiKeyForm.hidden = false;
  ui.apiKey.focus();
  showStatus(`${error.message}: enter the server's API key, then send again.`, true);
}

async function generate(user) {
  const reply = { role: "assistant", text: "", reasoning: "" };
  const body = requestBody(state.messages);
  state.messages.push(reply);
  const item = appendMessage(reply);
  const render = renderer(item, reply);
  const controller = new AbortController();
  setBusy(controller);
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) throw await httpError(response);
    await readEvents(response.body, (event) => {
      applyEvent(reply, event);
      render();
    });
  } catch (error) {
    if (error.status === 401) return askForApiKey(user, error);
    if (error.name === "AbortError") reply.note = "Stopped.";
    else reply.error = `Error: ${error.message}`;
  } finally {
    setBusy(null);
  }
  updateMessageElement(item, reply);
  saveConversation();
  ui.prompt.focus();
}

function send(event) {
  event.preventDefault();
  const text = ui.prompt.value.trim();
  if (state.controller || (!text && !state.pending.length)) return;
  const user = { role: "user", text, media: state.pending };
  state.pending = [];
  renderAttachments();
  ui.prompt.value = "";
  showStatus("");
  state.messages.push(user);
  appendMessage(user);
  saveConversation();
  generate(user);
}

/* ---- attachments ---- */

function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function audioFormat(file) {
  const extension = /\.([a-z0-9]{1,5})$/i.exec(file.name);
  return extension ? extension[1].toLowerCase() : file.type.replace(/^audio\/(x-)?/, "") || "wav";
}

/* "image", "audio" or "": by the file's type, else (some systems give none) its extension. */
function mediaKind(file) {
  const kind = file.type.split("/")[0];
  if (kind) return kind === "image" || kind === "audio" ? kind : "";
  if (/\.(png|jpe?g|webp|gif|bmp)$/i.test(file.name)) return "image";
  return /\.(wav|mp3|flac|ogg|oga|opus|m4a|aac|webm)$/i.test(file.name) ? "audio" : "";
}

async function attachFiles() {
  for (const file of ui.fileInput.files) {
    const kind = mediaKind(file);
    if (!kind) {
      showStatus(`${file.name} is neither an image nor audio.`, true);
      continue;
    }
    const item = { kind, name: file.name, url: await readAsDataUrl(file) };
    if (kind === "audio") item.format = audioFormat(file);
    state.pending.push(item);
  }
  ui.fileInput.value = "";
  renderAttachments();
}

/* 16-bit PCM WAV of samples in [-1, 1] (clamped), one channel. */
function encodeWav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + 2 * samples.length));
  const ascii = (offset, text) => [...text].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, 36 + 2 * samples.length, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);        /* size of the fmt chunk */
  view.setUint16(20, 1, true);         /* PCM */
  view.setUint16(22, 1, true);         /* channels */
  view.setUint32(24, rate, true);
  view.setUint32(28, 2 * rate, true);  /* bytes per second */
  view.setUint16(32, 2, true);         /* bytes per frame */
  view.setUint16(34, 16, true);        /* bits per sample */
  ascii(36, "data");
  view.setUint32(40, 2 * samples.length, true);
  samples.forEach((sample, i) => {
    const s = Math.max(-1, Math.min(1, sample));
    view.setInt16(44 + 2 * i, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  });
  return new Blob([view], { type: "audio/wav" });
}

/* Decodes a recording at 16 kHz (decodeAudioData resamples to its context's rate) and
 * averages its channels. */
async function toMonoWav(blob) {
  const audio = await new OfflineAudioContext(1, 1, WAV_RATE).decodeAudioData(await blob.arrayBuffer());
  const mono = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++)
    audio.getChannelData(c).forEach((v, i) => { mono[i] += v / audio.numberOfChannels; });
  return encodeWav(mono, WAV_RATE);
}

function setRecording(recorder) {
  state.recorder = recorder;
  ui.record.setAttribute("aria-pressed", String(Boolean(recorder)));
  ui.record.textContent = recorder ? "Stop recording" : "Record";
  showStatus(recorder ? "Recording…" : "");
}

async function finishRecording(recorder, chunks) {
  recorder.stream.getTracks().forEach((track) => track.stop());
  setRecording(null);
  try {
    const wav = await toMonoWav(new Blob(chunks, { type: recorder.mimeType }));
    const name = `recording-${new Date().toTimeString().slice(0, 8).replace(/:/g, "")}.wav`;
    state.pending.push({ kind: "audio", name, format: "wav", url: await readAsDataUrl(wav) });
    renderAttachments();
  } catch (error) {
    showStatus(`The recording could not be decoded: ${error.message}`, true);
  }
}

async function toggleRecording() {
  if (state.recorder) return state.recorder.stop();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    return showStatus(`No microphone: ${error.message}`, true);
  }
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
  recorder.addEventListener("stop", () => finishRecording(recorder, chunks));
  recorder.start();
  setRecording(recorder);
}

/* ---- setup ---- */

async function loadModel() {
  try {
    const response = await fetch("/v1/models", { headers: authHeaders() });
    if (response.status === 401) {
      ui.apiKeyForm.hidden = false;
      ui.modelName.textContent = "(API key needed)";
      return;
    }
    const models = (await response.json()).data || [];
    state.model = models.length ? models[0].id : "";
    ui.modelName.textContent = state.model;
  } catch (error) {
    ui.modelName.textContent = "(server unreachable)";
  }
}

function newChat() {
  if (state.controller) state.controller.abort();
  state.messages = [];
  saveConversation();
  renderConversation();
  ui.prompt.focus();
}

function saveApiKey(event) {
  event.preventDefault();
  localStorage.setItem(API_KEY_KEY, ui.apiKey.value.trim());
  ui.apiKeyForm.hidden = true;
  showStatus("API key saved.");
  loadModel();
}

function setup() {
  ui.composer.addEventListener("submit", send);
  ui.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.stop.addEventListener("click", () => state.controller && state.controller.abort());
  ui.newChat.addEventListener("click", newChat);
  ui.fileInput.addEventListener("change", attachFiles);
  ui.apiKeyForm.addEventListener("submit", saveApiKey);
  ui.apiKey.value = apiKey();
  ui.thinking.checked = localStorage.getItem(THINKING_KEY) === "true";
  ui.thinking.addEventListener("change", () => localStorage.setItem(THINKING_KEY, String(ui.thinking.checked)));
  if (window.isSecureContext && window.MediaRecorder) {
    ui.record.addEventListener("click", toggleRecording);
  } else {
    ui.record.disabled = true;
    ui.record.title = "The browser allows the microphone only on https:// or localhost pages";
  }
  renderConversation();
  loadModel();
}

setup();
