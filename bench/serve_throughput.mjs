// Decode throughput of g4 serve with continuous batching: one request alone, then
// CLIENTS at once, each generating TOKENS tokens from a short prompt. Prints generated
// tokens per second of wall time for both (start g4 serve with --parallel >= CLIENTS).
//   node bench/serve_throughput.mjs BASE_URL [CLIENTS] [TOKENS]
const [base, clientsText, tokensText] = process.argv.slice(2);
const clients = Number(clientsText ?? 4), tokens = Number(tokensText ?? 32);

for (;;) {
  const res = await fetch(`${base}/health`).catch(() => null);
  if (res?.status === 200) break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function generate(i) {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: `Count to ${i + 10}.` }],
      max_tokens: tokens, temperature: 0,
    }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  return (await res.json()).usage.completion_tokens;
}

async function run(n) {
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: n }, (_, i) => generate(i)));
  const seconds = (performance.now() - t0) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(`${n} at once: ${total} tokens in ${seconds.toFixed(1)} s = ` +
              `${(total / seconds).toFixed(2)} tokens/s`);
  return total / seconds;
}

const one = await run(1);
const many = await run(clients);
console.log(`continuous batching: ${(many / one).toFixed(2)}x the tokens per second of one`);
