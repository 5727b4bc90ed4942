// The official openai and ollama clients against g4 serve (run by tests/server/clients.sh).
// Expected values come from g4 eval (prompt ids, greedy ids), g4 run (text) and
// g4 template (the rendered prompt) on the same requests.
//   node clients.test.mjs BASE_URL CASES_DIR N MODEL
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const [baseUrl, casesDir, nText, modelPath] = process.argv.slice(2);
const n = Number(nText);
const openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
const ollama = new Ollama({ host: baseUrl });
const read = (name) => fs.readFileSync(path.join(casesDir, name));
const request = (name) => JSON.parse(read(`${name}.json`));

// "prompt: 2 105 ..." and "greedy: ..." from g4 eval.
function evalIds(name) {
  const text = read(`${name}.eval`).toString();
  const ids = (label) => text.match(new RegExp(`^${label}: (.*)$`, 'm'))[1].trim().split(/\s+/).map(Number);
  return { prompt: ids('prompt'), greedy: ids('greedy') };
}
const runText = read('hello.run').toString().trim();

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

// The ids of the answer, checked entry by entry: the greedy pick is the top alternative,
// alternatives are sorted and are probabilities.
function checkedIds(logprobs) {
  return logprobs.content.map((entry) => {
    const top = entry.top_logprobs;
    assert.ok(top.length === 3, 'three alternatives');
    assert.equal(top[0].id, entry.id, 'temperature 0 picks the likeliest token');
    assert.equal(top[0].logprob, entry.logprob);
    for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].logprob >= top[i].logprob);
    const mass = top.reduce((sum, t) => sum + Math.exp(t.logprob), 0);
    assert.ok(entry.logprob <= 0 && mass <= 1 + 1e-6, `probabilities (mass ${mass})`);
    assert.deepEqual(entry.bytes, [...Buffer.from(entry.token)]);
    return entry.id;
  });
}

async function chatIds(name, body) {
  const want = evalIds(name);
  const res = await openai.chat.completions.create({
    ...body, temperature: 0, max_tokens: n, logprobs: true, top_logprobs: 3,
  });
  const ids = checkedIds(res.choices[0].logprobs);
  assert.deepEqual(ids, want.greedy.slice(0, ids.length), `${name}: the greedy ids of g4 eval`);
  assert.equal(ids.length, n);
  assert.equal(res.choices[0].finish_reason, 'length');
  assert.equal(res.usage.prompt_tokens, want.prompt.length, `${name}: prompt tokens`);
  assert.equal(res.usage.completion_tokens, n);
  return res;
}

check('openai chat: greedy ids, text and usage equal g4 eval and g4 run', async () => {
  const res = await chatIds('hello', request('hello'));
  const msg = res.choices[0].message;
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.content, runText);
  assert.equal(res.choices[0].logprobs.content.map((e) => e.token).join('').trim(), runText);
  assert.equal(res.object, 'chat.completion');
});

check('openai chat streaming: deltas add up to g4 run, usage with the cached prefix', async () => {
  const stream = await openai.chat.completions.create({
    ...request('hello'), temperature: 0, max_tokens: n, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '', chunks = 0, finish = null, usage = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
  assert.equal(text.trim(), runText);
  assert.equal(finish, 'length');
  assert.ok(chunks >= 3, `${chunks} chunks`);
  const prompt = evalIds('hello').prompt.length;
  assert.equal(usage.prompt_tokens, prompt);
  assert.equal(usage.completion_tokens, n);
  // the same prompt ran before: all but its last token come from the slot's cache
  assert.equal(usage.prompt_tokens_details.cached_tokens, prompt - 1);
});

check('openai chat: a tool-call round trip renders as g4 eval does', async () => {
  await chatIds('tools', request('tools'));
});

let imageAnswer = null;
check('openai chat: an image as a data URI', async () => {
  const png = read('shapes.png').toString('base64');
  const body = request('image');
  body.messages[0].content[0].image_url.url = `data:image/png;base64,${png}`;
  imageAnswer = (await chatIds('image', body)).choices[0].message.content;
});

check('openai chat: an audio clip as input_audio', async () => {
  const body = request('audio');
  body.messages[0].content[0].input_audio = { data: read('fox16k.wav').toString('base64'), format: 'wav' };
  await chatIds('audio', body);
});

check('openai completions: the rendered prompt gives g4 run\'s text', async () => {
  const res = await openai.completions.create({
    model: 'x', prompt: read('hello.prompt').toString(), temperature: 0, max_tokens: n, logprobs: 2,
  });
  assert.equal(res.choices[0].text.trim(), runText);
  assert.equal(res.choices[0].logprobs.tokens.join(''), res.choices[0].text);
  assert.equal(res.usage.prompt_tokens, evalIds('hello').prompt.length);
});

check('openai models', async () => {
  const list = await openai.models.list();
  assert.deepEqual(list.data.map((m) => m.id), ['tiny-gemma4u-q4_0']);
});

check('openai errors: 400 naming the field, 400 over the context', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: 'x', messages: [{ role: 'robot', content: 'hi' }] }),
    (e) => e.status === 400 && e.error.param === 'messages[0].role' && /robot/.test(e.message));
  await assert.rejects(
    openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], temperature: 7 }),
    (e) => e.status === 400 && e.error.param === 'temperature');
  await assert.rejects(
    openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'word '.repeat(5000) }] }),
    (e) => e.status === 400 && /context/.test(e.message));
});

const ollamaOptions = { temperature: 0, num_predict: n };

check('ollama chat: g4 run\'s text and counts', async () => {
  const res = await ollama.chat({ model: 'tiny-gemma4u-q4_0', messages: request('hello').messages, options: ollamaOptions });
  assert.equal(res.message.content, runText);
  assert.equal(res.done, true);
  assert.equal(res.done_reason, 'length');
  assert.equal(res.eval_count, n);
  assert.equal(res.prompt_eval_count, evalIds('hello').prompt.length);
});

check('ollama chat streaming', async () => {
  const stream = await ollama.chat({ model: 'x', messages: request('hello').messages, options: ollamaOptions, stream: true });
  let text = '', last = null;
  for await (const part of stream) {
    text += part.message.content;
    last = part;
  }
  assert.equal(text.trim(), runText);
  assert.equal(last.done, true);
  assert.equal(last.eval_count, n);
});

check('ollama chat: an image in "images" answers as the same OpenAI request', async () => {
  const res = await ollama.chat({
    model: 'x', options: ollamaOptions,
    messages: [{ role: 'user', content: 'What is in the picture?', images: [read('shapes.png').toString('base64')] }],
  });
  assert.ok(imageAnswer !== null);
  assert.equal(res.message.content, imageAnswer);
  assert.equal(res.prompt_eval_count, evalIds('image').prompt.length);
});

check('ollama generate: the prompt as one user turn', async () => {
  const res = await ollama.generate({ model: 'x', prompt: 'Hello there', options: ollamaOptions });
  assert.equal(res.response, runText);
  assert.equal(res.prompt_eval_count, evalIds('hello').prompt.length);
});

check('ollama tags', async () => {
  const res = await ollama.list();
  assert.equal(res.models.length, 1);
  assert.equal(res.models[0].name, 'tiny-gemma4u-q4_0');
  assert.equal(res.models[0].size, fs.statSync(modelPath).size);
});

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e.stack ?? e}`);
  }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
