// Load on g4 serve: CLIENTS concurrent clients for SECONDS, mixing streamed and whole
// answers of both APIs, clients that hang up early and malformed requests. Every request
// must be answered (200, or 400 for the malformed ones) or refused with 429; nothing else.
//   node load.mjs BASE_URL CLIENTS SECONDS
const [base, clientsText, secondsText] = process.argv.slice(2);
const deadline = Date.now() + Number(secondsText) * 1000;
const counts = {};
const failures = [];
let seed = 12345;
const random = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const count = (what) => { counts[what] = (counts[what] ?? 0) + 1; };

const chat = (extra) => JSON.stringify({
  messages: [{ role: 'user', content: `Tell me about the number ${random(1000)}` }],
  max_tokens: 1 + random(24), ...extra,
});
const kinds = [
  { name: 'chat', path: '/v1/chat/completions', body: () => chat({}) },
  { name: 'chat stream', path: '/v1/chat/completions', body: () => chat({ stream: true }), stream: 'data: [DONE]' },
  { name: 'chat stream, hang up', path: '/v1/chat/completions', body: () => chat({ stream: true, max_tokens: 200 }), hangUp: true },
  { name: 'chat, hang up', path: '/v1/chat/completions', body: () => chat({ max_tokens: 200 }), hangUpAfterMs: 100 },
  { name: 'completion', path: '/v1/completions', body: () => JSON.stringify({ prompt: 'Once upon a time', max_tokens: 1 + random(16), logprobs: 2 }) },
  { name: 'ollama stream', path: '/api/chat', body: () => JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'Hi' }], options: { num_predict: 1 + random(16) } }), stream: '"done":true' },
  { name: 'malformed', path: '/v1/chat/completions', body: () => '{"messages": [{"role": "robot"', malformed: true },
];

async function once(kind) {
  const abort = new AbortController();
  let timer = null;
  if (kind.hangUpAfterMs) timer = setTimeout(() => abort.abort(), kind.hangUpAfterMs);
  try {
    const res = await fetch(base + kind.path, { method: 'POST', body: kind.body(), signal: abort.signal, headers: { 'Content-Type': 'application/json' } });
    if (res.status === 429) {
      if (res.headers.get('retry-after') !== '1') failures.push(`${kind.name}: 429 without Retry-After`);
      await res.arrayBuffer();
      count('429');
      return new Promise((resolve) => setTimeout(resolve, random(500)));
    }
    const want = kind.malformed ? 400 : 200;
    if (res.status !== want) return failures.push(`${kind.name}: status ${res.status}: ${await res.text()}`);
    if (kind.hangUp) {
      const reader = res.body.getReader();
      await reader.read();
      abort.abort();
      return count('hung up while streaming');
    }
    const text = await res.text();
    if (kind.stream && !text.includes(kind.stream)) return failures.push(`${kind.name}: unfinished stream: ${text.slice(-200)}`);
    if (!kind.stream) JSON.parse(text);
    count(`${res.status} ${kind.name}`);
  } catch (e) {
    if (abort.signal.aborted) return count('hung up while waiting');
    failures.push(`${kind.name}: ${e.cause?.code ?? e.message}`);
  } finally {
    clearTimeout(timer);
  }
}

async function client() {
  while (Date.now() < deadline) await once(kinds[random(kinds.length)]);
}

await Promise.all(Array.from({ length: Number(clientsText) }, client));
console.log(JSON.stringify(counts, null, 1));
for (const f of failures.slice(0, 20)) console.log(`FAIL ${f}`);
console.log(`${failures.length} failures`);
const answered = Object.entries(counts).filter(([k]) => k.startsWith('200')).reduce((s, [, v]) => s + v, 0);
if (answered === 0 || !counts['429']) console.log('FAIL expected both answers and 429 refusals');
process.exit(failures.length || answered === 0 || !counts['429'] ? 1 : 0);
