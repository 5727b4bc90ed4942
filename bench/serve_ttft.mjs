// Time to the first token on g4 serve for a prompt whose long system message (about
// TOKENS tokens) is already in a slot's cache, against the same prompt cold.
//   node bench/serve_ttft.mjs BASE_URL [TOKENS]
// Runs three streamed requests of one generated token each: A (cold), B (A's system
// message, another question: the prefix comes from the cache), C (a different system
// message of the same length: cold again).
const [base, tokensText] = process.argv.slice(2);
const tokens = Number(tokensText ?? 1000);

// Words of one token each in Gemma's vocabulary, so the length is easy to aim at.
const words = ['alpha', 'river', 'stone', 'light', 'green', 'house', 'water', 'music'];
const system = (salt) =>
  Array.from({ length: tokens - 30 }, (_, i) => words[(i * 7 + salt) % words.length]).join(' ');

async function waitUntilLoaded() {
  for (;;) {
    const res = await fetch(`${base}/health`).catch(() => null);
    if (res?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function firstToken(systemText, question) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'system', content: systemText }, { role: 'user', content: question }],
      max_tokens: 1, temperature: 0, stream: true, stream_options: { include_usage: true },
    }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '', first = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (first === null && /"(content|reasoning_content)":"[^"]/.test(text)) first = performance.now();
  }
  const usage = JSON.parse(text.split('\n').filter((l) => l.includes('"usage"')).pop().slice(6)).usage;
  return { seconds: ((first ?? performance.now()) - t0) / 1000, usage };
}

await waitUntilLoaded();
const a = await firstToken(system(0), 'What is the first word?');
const b = await firstToken(system(0), 'What is the last word?');
const c = await firstToken(system(3), 'What is the first word?');
for (const [name, r] of [['A cold', a], ['B shared prefix', b], ['C cold', c]])
  console.log(`${name.padEnd(16)} prompt ${r.usage.prompt_tokens} tokens, ` +
              `${r.usage.prompt_tokens_details.cached_tokens} cached: first token after ${r.seconds.toFixed(2)} s`);
console.log(`speed-up of B over the cold mean: ${((a.seconds + c.seconds) / 2 / b.seconds).toFixed(1)}x`);
