// The chat page of g4 serve in headless Chromium (Debian's chromium driven by the pinned
// playwright-core), against g4 serve on the tiny model:
//   - GET / serves the page with a Content-Security-Policy listing exactly its inline
//     scripts' and styles' hashes (computed here) and nothing from other origins;
//   - the Markdown renderer escapes the model's HTML and keeps only safe links, for written
//     cases and for 3000 random strings of Markdown and HTML pieces;
//   - a message with shapes.png attached: the request carries the image as a data: URI of
//     the file's bytes, the answer grows on screen over several updates, ends with the stop
//     button gone, equals the text of the server's SSE stream, and survives a reload;
//   - the stop button ends an answer while it streams, and the server stops generating it;
//   - Thinking sends enable_thinking, reasoning_content shows folded, errors are shown;
//   - the microphone (Chromium's fake device) becomes a 16 kHz mono 16-bit WAV attachment,
//     sent with an attached WAV file as input_audio parts that the server takes;
//   - a server started with --api-key: the page asks for the key, then sends it.
// Usage: node chat_page.test.mjs G4 TEST_DATA, beside a node_modules holding playwright-core
// (tests/server/chat_page.sh puts it there).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";

const [g4, dataDir] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MODEL = path.join(dataDir, "tiny-gemma4u-q4_0.gguf");
const MMPROJ = path.join(dataDir, "tiny-gemma4u-mmproj-f32.gguf");
const SHAPES = path.join(dataDir, "media", "shapes.png");
const FOX = path.join(dataDir, "media", "fox16k.wav");
const SHAPES_URI = `data:image/png;base64,${readFileSync(SHAPES).toString("base64")}`;
const API_KEY = "chat-page-test-key";
/* Generous: the sanitizer build runs the same test. */
const TIMEOUT_MS = 180000;
/* Tags the renderer may produce: anything else in an answer came from the model's text. */
const RENDERER_TAGS = new Set(["P", "BR", "EM", "STRONG", "DEL", "CODE", "PRE", "H1", "H2", "H3",
  "H4", "H5", "H6", "UL", "OL", "LI", "BLOCKQUOTE", "HR", "A"]);

/* ---- g4 serve ---- */

/* g4 serve on a free loopback port (--port 0: it says which), once /health answers. */
async function startServer(extraArgs = []) {
  const child = spawn(g4, ["serve", "-m", MODEL, "--mmproj", MMPROJ, "--host", "127.0.0.1",
    "--port", "0", ...extraArgs], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => { log += chunk; });
  const server = { base: "", child, log: () => log };
  for (const deadline = Date.now() + TIMEOUT_MS; Date.now() < deadline; await sleep(100)) {
    if (child.exitCode !== null) throw new Error(`g4 serve exited with ${child.exitCode}:\n${log}`);
    const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
    if (!listening) continue;
    server.base = listening[1];
    try {
      if ((await fetch(`${server.base}/health`)).ok) return server;
    } catch { /* not answering yet */ }
  }
  child.kill("SIGKILL");
  throw new Error(`g4 serve was not healthy after ${TIMEOUT_MS} ms:\n${log}`);
}

/* SIGTERM must end the server cleanly (exit status 0, so no sanitizer report either). */
async function stopServer(server) {
  const exited = server.child.exitCode !== null ? Promise.resolve() : once(server.child, "exit");
  server.child.kill("SIGTERM");
  await exited;
  assert.equal(server.child.exitCode, 0, `g4 serve after SIGTERM:\n${server.log()}`);
}

/* The content of a chat completion's SSE stream, read here independently of the page. */
function streamedContent(sse) {
  const events = sse.split("\n").filter((line) => line.startsWith("data: "));
  assert.equal(events.at(-1), "data: [DONE]", "the stream ends with [DONE]");
  return events.slice(0, -1)
    .map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "")
    .join("");
}

function sha256Base64(text) {
  return createHash("sha256").update(text, "utf8").digest("base64");
}

/* g4_slots_busy from /metrics once it is 0, or when ms have passed. */
async function slotsBusyAfter(srv, ms) {
  let busy;
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) {
    busy = Number(/^g4_slots_busy (\S+)$/m.exec(await (await fetch(`${srv.base}/metrics`)).text())[1]);
    if (busy === 0) break;
  }
  return busy;
}

/* ---- the browser ---- */

let browser;
let server;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
  });
  server = await startServer();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
});

/* A fresh browser profile on the page, collecting script errors and policy violations;
 * initScript runs before the page's own scripts. */
async function openPage(base, options = {}, initScript = () => {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.addInitScript(initScript);
  page.setDefaultTimeout(TIMEOUT_MS);
  const problems = [];
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/`);
  return { page, context, problems };
}

/* Records the bodies the page sends to /v1/chat/completions and forwards them with extra
 * fields merged in (a bounded answer for the test's sake). */
async function forwardChatRequests(page, extra) {
  const sent = [];
  await page.route("**/v1/chat/completions", async (route) => {
    const body = route.request().postDataJSON();
    sent.push({ body, headers: route.request().headers() });
    await route.continue({ postData: JSON.stringify({ ...body, ...extra }) });
  });
  return sent;
}

/* Starts recording every change of the last answer's text length, and whether the stop
 * button was ever shown. */
function watchAnswer(page) {
  return page.evaluate(() => {
    window.answerLengths = [];
    window.stopShown = false;
    new MutationObserver(() => {
      const answers = document.querySelectorAll(".msg.assistant .answer");
      const length = answers.length ? answers[answers.length - 1].textContent.length : 0;
      if (length !== window.answerLengths.at(-1)) window.answerLengths.push(length);
      if (!document.getElementById("stop").hidden) window.stopShown = true;
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

/* An init script: the page's fetch of /v1/chat/completions hands the test a copy of the
 * response's bytes (window.chatResponses, promises of byte arrays) as the page reads them.
 * (DevTools would decode an event stream without a charset as windows-1252.) */
function keepChatResponses() {
  const pageFetch = window.fetch;
  window.chatResponses = [];
  window.fetch = async (resource, init) => {
    const response = await pageFetch(resource, init);
    if (!String(resource).endsWith("/v1/chat/completions") || !response.body) return response;
    const [forPage, forTest] = response.body.tee();
    window.chatResponses.push(new Response(forTest).arrayBuffer().then((b) => [...new Uint8Array(b)]));
    return new Response(forPage, response);
  };
}

function storedConversation(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("g4.chat.conversation")));
}

/* ---- tests ---- */

test("GET / serves the page with a policy that allows only its own inline code", async () => {
  const response = await fetch(`${server.base}/`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await response.text();
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "nothing is loaded from elsewhere");
  const policy = Object.fromEntries(response.headers.get("content-security-policy").split(";")
    .map((directive) => directive.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  const hashes = (tag) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))]
    .map((m) => `'sha256-${sha256Base64(m[1])}'`);
  assert.equal(hashes("script").length, 2);
  assert.deepEqual(policy["default-src"], ["'none'"]);
  assert.deepEqual(policy["script-src"], hashes("script"));
  assert.deepEqual(policy["style-src"], hashes("style"));
  assert.deepEqual(policy["connect-src"], ["'self'"]);
  assert.deepEqual([policy["img-src"], policy["media-src"]], [["data:"], ["data:"]]);
  assert.deepEqual(policy["frame-ancestors"], ["'none'"]);
});

test("the Markdown renderer escapes the model's HTML and keeps only safe links", async () => {
  const { page, context, problems } = await openPage(server.base);
  const cases = [
    ["<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"],
    ["<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"],
    ["**b** *i* `<b>` ~~s~~ snake_case_name", "<p><strong>b</strong> <em>i</em> " +
      "<code>&lt;b&gt;</code> <del>s</del> snake_case_name</p>\n"],
    ["# T <i>\nline one\nline 'two' & \"3\"", "<h1>T &lt;i&gt;</h1>\n" +
      "<p>line one<br>\nline &#39;two&#39; &amp; &quot;3&quot;</p>\n"],
    ["```html\n<div a=\"1\">&amp;</div>\n```\n", "<pre><code class=\"language-html\">" +
      "&lt;div a=&quot;1&quot;&gt;&amp;amp;&lt;/div&gt;</code></pre>\n"],
    ["```\nstill streaming <b>", "<pre><code>still streaming &lt;b&gt;</code></pre>\n"],
    ["- a\n- b\n  - c\n\n3. d\n4. e", "<ul>\n<li>a</li>\n<li>b\n<ul>\n<li>c</li>\n</ul>\n</li>\n" +
      "</ul>\n<ol start=\"3\">\n<li>d</li>\n<li>e</li>\n</ol>\n"],
    ["> *q*\n\n---", "<blockquote>\n<p><em>q</em></p>\n</blockquote>\n<hr>\n"],
    ["[a](https://example.org/?q=1&r=2)", "<p><a href=\"https://example.org/?q=1&amp;r=2\" " +
      "target=\"_blank\" rel=\"noopener noreferrer\">a</a></p>\n"],
    ["[a](/x\"onmouseover=\"alert)", "<p><a href=\"/x&quot;onmouseover=&quot;alert\" " +
      "target=\"_blank\" rel=\"noopener noreferrer\">a</a></p>\n"],
    ["[a](javascript:alert%281%29)", "<p>a</p>\n"],
    ["[a](JaVaScRiPt:alert%281%29)", "<p>a</p>\n"],
    ["[a](data:text/html;base64,PHNjcmlwdD4=)", "<p>a</p>\n"],
    ["[a](\u0001javascript:alert%281%29)", "<p>a</p>\n"],
    [">".repeat(1000) + " x", "<blockquote>\n".repeat(9) + `<p>${"&gt;".repeat(991)} x</p>\n` +
      "</blockquote>\n".repeat(9)],
  ];
  for (const [markdown, html] of cases)
    assert.equal(await page.evaluate((text) => renderMarkdown(text), markdown), html, markdown);
  const inserted = await page.evaluate(() => {
    const box = document.createElement("div");
    box.innerHTML = renderMarkdown("<img src=x onerror=\"window.hacked=1\"><script>window.hacked=1" +
      "</script> [x](javascript:window.hacked=1) <svg onload=window.hacked=1>");
    document.body.append(box);
    return { tags: [...box.querySelectorAll("*")].map((e) => e.tagName), hacked: window.hacked };
  });
  assert.deepEqual(inserted, { tags: ["P"], hacked: undefined });
  assert.deepEqual(problems, []);
  await context.close();
});

test("random Markdown-like text renders only the renderer's tags, attributes and safe links", async () => {
  const { page, context, problems } = await openPage(server.base);
  const findings = await page.evaluate(() => {
    let seed = 20261123;
    const random = (n) => Math.floor((seed = (seed * 48271) % 2147483647) / 2147483647 * n);
    const pieces = ["<", ">", "&", "\"", "'", "`", "```", "*", "**", "_", "~~", "#", "- ", "1. ",
      "> ", "\n", "\n\n", "  ", "[", "]", "(", ")", "](", "javascript:", "https://x", "data:",
      "\u0001", " ", "script", "img", " onerror=", "a", "/"];
    const attributes = { P: [], BR: [], EM: [], STRONG: [], DEL: [], CODE: ["class"], PRE: [],
      H1: [], H2: [], H3: [], H4: [], H5: [], H6: [], UL: [], OL: ["start"], LI: [],
      BLOCKQUOTE: [], HR: [], A: ["href", "target", "rel"] };
    const found = [];
    for (let n = 0; n < 3000; n++) {
      let text = "";
      for (let k = 1 + random(40); k > 0; k--) text += pieces[random(pieces.length)];
      const html = document.createElement("template");
      html.innerHTML = renderMarkdown(text);
      for (const node of html.content.querySelectorAll("*")) {
        const allowed = attributes[node.tagName];
        if (!allowed) found.push([text, node.tagName]);
        for (const attribute of node.attributes)
          if (!allowed || !allowed.includes(attribute.name)) found.push([text, attribute.name]);
        if (node.tagName === "A" &&
            !["http:", "https:", "mailto:"].includes(new URL(node.getAttribute("href"), location.href).protocol))
          found.push([text, node.getAttribute("href")]);
      }
    }
    return found.slice(0, 5);
  });
  assert.deepEqual(findings, []);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a message with shapes.png attached streams an answer into the page", async () => {
  const { page, context, problems } = await openPage(server.base, {}, keepChatResponses);
  const sent = await forwardChatRequests(page, { max_tokens: 48 });
  await page.waitForFunction(() => !/^\(/.test(document.getElementById("model-name").textContent));
  await watchAnswer(page);

  await page.setInputFiles("#file-input", SHAPES);
  await page.waitForSelector("#attachments img");
  await page.fill("#prompt", "What shapes are in this picture?");
  await page.click("#send");
  await page.waitForSelector("#stop", { state: "hidden" });
  const sse = new TextDecoder().decode(new Uint8Array(await page.evaluate(() => window.chatResponses[0])));
  assert.equal(await page.isVisible("#send"), true);

  assert.equal(sent.length, 1);
  const { body } = sent[0];
  assert.equal(body.stream, true);
  assert.deepEqual(body.chat_template_kwargs, { enable_thinking: false });
  assert.deepEqual(body.messages, [{ role: "user", content: [
    { type: "image_url", image_url: { url: SHAPES_URI } },
    { type: "text", text: "What shapes are in this picture?" },
  ] }]);

  const answer = streamedContent(sse);
  const lengths = await page.evaluate(() => window.answerLengths.filter((n) => n > 0));
  assert.ok(lengths.length >= 2, `the answer grew over ${lengths.length} updates: ${lengths}`);
  assert.deepEqual(lengths, [...lengths].sort((a, b) => a - b), "the answer only grows");
  assert.equal(await page.evaluate(() => window.stopShown), true, "stop was shown while streaming");
  const tags = await page.$$eval(".msg.assistant .answer *", (nodes) => nodes.map((n) => n.tagName));
  assert.deepEqual(tags.filter((tag) => !RENDERER_TAGS.has(tag)), []);

  const conversation = await storedConversation(page);
  assert.deepEqual(conversation.map((m) => m.role), ["user", "assistant"]);
  assert.equal(conversation[0].media[0].url, SHAPES_URI);
  assert.equal(conversation[1].text, answer, "the page kept exactly the streamed text");

  await page.reload();
  assert.equal(await page.locator(".msg").count(), 2);
  assert.equal(await page.getAttribute(".msg.user img", "src"), SHAPES_URI);
  assert.equal(await page.locator(".msg.assistant .answer").textContent(),
    await page.evaluate((text) => { const box = document.createElement("div");
      box.innerHTML = renderMarkdown(text); return box.textContent; }, answer));
  assert.deepEqual(problems, []);
  await context.close();
});

test("the stop button ends an answer while it streams", async () => {
  const { page, context, problems } = await openPage(server.base);
  await page.fill("#prompt", "Tell me a very long story.");
  await page.click("#send");
  await page.waitForFunction(() => document.querySelector(".msg.assistant .answer").textContent.length > 0);
  await page.click("#stop");
  await page.waitForSelector("#stop", { state: "hidden" });
  assert.equal(await page.textContent(".msg.assistant .note"), "Stopped.");
  const [stopped] = (await storedConversation(page)).slice(1);
  assert.ok(stopped.text.length > 0);
  await sleep(500);
  assert.equal((await storedConversation(page))[1].text, stopped.text, "nothing came after stop");
  assert.equal(await slotsBusyAfter(server, 30000), 0, "the server cancelled the answer");
  assert.deepEqual(problems, []);
  await context.close();
});

test("Thinking asks for reasoning and shows it folded; errors are shown", async () => {
  const { page, context } = await openPage(server.base);
  await page.check("#thinking");
  const sent = await forwardChatRequests(page, { max_tokens: 8 });
  await page.fill("#prompt", "Think first.");
  await page.click("#send");
  await page.waitForSelector(".msg.assistant");
  await page.waitForSelector("#stop", { state: "hidden" });
  assert.deepEqual(sent[0].body.chat_template_kwargs, { enable_thinking: true });
  assert.equal(await page.locator(".msg.assistant .note.error").count(), 0, "the server took it");

  /* What the page makes of reasoning and errors, from answers written here. */
  const events = (...objects) => objects.map((o) => `data: ${JSON.stringify(o)}\n\n`).join("");
  const answers = [
    { status: 200, contentType: "text/event-stream", body: events(
      { choices: [{ index: 0, delta: { role: "assistant", reasoning_content: "Three " } }] },
      { choices: [{ index: 0, delta: { reasoning_content: "shapes <b>." } }] },
      { choices: [{ index: 0, delta: { content: "A **circle**." } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) + "data: [DONE]\n\n" },
    { status: 200, contentType: "text/event-stream", body: events(
      { choices: [{ index: 0, delta: { content: "Half" } }] }, { error: { message: "slot lost" } }) },
    { status: 400, contentType: "application/json",
      body: JSON.stringify({ error: { message: "messages[0].content: bad", type: "invalid_request_error" } }) },
  ];
  await page.unroute("**/v1/chat/completions");
  await page.route("**/v1/chat/completions", (route) => route.fulfill(answers.shift()));
  for (const [i, question] of ["Why?", "And?", "Or?"].entries()) {
    await page.fill("#prompt", question);
    await page.click("#send");
    await page.waitForFunction((n) => document.querySelectorAll(".msg.assistant").length === n &&
      document.getElementById("stop").hidden, i + 2, { timeout: 10000 });
  }
  const shown = await page.$$eval(".msg.assistant", (items) => items.slice(1).map((item) => ({
    folded: !item.querySelector("details").open && !item.querySelector("details").hidden,
    reasoning: item.querySelector(".reasoning-text").innerHTML,
    answer: item.querySelector(".answer").innerHTML,
    note: item.querySelector(".note").textContent,
  })));
  assert.deepEqual(shown, [
    { folded: true, reasoning: "<p>Three shapes &lt;b&gt;.</p>\n", answer: "<p>A <strong>circle</strong>.</p>\n", note: "" },
    { folded: false, reasoning: "", answer: "<p>Half</p>\n", note: "Error: slot lost" },
    { folded: false, reasoning: "", answer: "", note: "Error: messages[0].content: bad" },
  ]);
  await context.close();
});

test("the microphone and an audio file are sent as input_audio parts", async () => {
  const { page, context, problems } = await openPage(server.base, { permissions: ["microphone"] });
  const sent = await forwardChatRequests(page, { max_tokens: 4 });
  await page.click("#record");
  await page.waitForSelector("#record[aria-pressed=true]");
  await sleep(1500);
  await page.click("#record");
  const src = await page.getAttribute("#attachments audio", "src");
  assert.match(src, /^data:audio\/wav;base64,/);
  const wav = Buffer.from(src.slice(src.indexOf(",") + 1), "base64");
  const ascii = (offset) => wav.toString("latin1", offset, offset + 4);
  assert.deepEqual([ascii(0), wav.readUInt32LE(4), ascii(8), ascii(12), wav.readUInt32LE(16)],
    ["RIFF", wav.length - 8, "WAVE", "fmt ", 16]);
  assert.deepEqual([1, 1, 16000, 32000, 2, 16], [wav.readUInt16LE(20), wav.readUInt16LE(22),
    wav.readUInt32LE(24), wav.readUInt32LE(28), wav.readUInt16LE(32), wav.readUInt16LE(34)],
    "PCM, one channel, 16 kHz, 16-bit");
  assert.deepEqual([ascii(36), wav.readUInt32LE(40)], ["data", wav.length - 44]);
  const seconds = (wav.length - 44) / 32000;
  assert.ok(seconds > 1 && seconds < 60, `recorded ${seconds} s after 1.5 s of recording`);
  let peak = 0;
  for (let offset = 44; offset < wav.length; offset += 2) peak = Math.max(peak, Math.abs(wav.readInt16LE(offset)));
  assert.ok(peak > 1000, `the fake microphone's beep is in the recording (peak ${peak})`);

  await page.setInputFiles("#file-input", FOX);
  await page.waitForSelector("#attachments li:nth-child(2) audio");
  await page.fill("#prompt", "What does the voice say?");
  await page.click("#send");
  await page.waitForSelector(".msg.assistant");
  await page.waitForSelector("#stop", { state: "hidden" });
  assert.equal(await page.locator(".msg.assistant .note.error").count(), 0, "the server took the audio");
  assert.deepEqual(sent[0].body.messages[0].content, [
    { type: "input_audio", input_audio: { data: wav.toString("base64"), format: "wav" } },
    { type: "input_audio", input_audio: { data: readFileSync(FOX).toString("base64"), format: "wav" } },
    { type: "text", text: "What does the voice say?" },
  ]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("with --api-key the page asks for the key, then sends it", async () => {
  const keyed = await startServer(["--api-key", API_KEY]);
  try {
    const { page, context } = await openPage(keyed.base);
    const sent = await forwardChatRequests(page, { max_tokens: 8 });
    await page.waitForSelector("#api-key-form", { state: "visible" });
    await page.fill("#prompt", "Hello?");
    await page.click("#send");
    await page.waitForSelector("#status.error");
    assert.equal(await page.inputValue("#prompt"), "Hello?", "the message is back in the composer");
    assert.equal(await page.locator(".msg").count(), 0);

    await page.fill("#api-key", API_KEY);
    await page.click("#api-key-form button");
    const models = await (await fetch(`${keyed.base}/v1/models`,
      { headers: { Authorization: `Bearer ${API_KEY}` } })).json();
    await page.waitForFunction((id) => document.getElementById("model-name").textContent === id,
      models.data[0].id);
    await page.click("#send");
    await page.waitForSelector(".msg.assistant");
    await page.waitForSelector("#stop", { state: "hidden" });
    assert.equal(await page.locator(".msg.assistant .note.error").count(), 0);
    assert.deepEqual(sent.map((request) => request.headers.authorization),
      [undefined, `Bearer ${API_KEY}`]);
    await context.close();
  } finally {
    await stopServer(keyed);
  }
});
