#!/usr/bin/env node
// llama-bench-style pp/tg measurement of llama.cpp, through the prebuilt binaries that the
// pinned node-llama-cpp package (bench/llamacpp/) ships. CPU only; never builds or downloads.
//
//   node bench/llamacpp_bench.mjs --model M.gguf --threads T [--pp 512] [--tg 128] [--depth 0] [--ttft 0]
//                                 [--reps N] [--no-mmap] [--json]
//
// ppN: tokens/s to evaluate one batch of N random token ids from an empty context
//      (batch size = ubatch size = N, so one llama_decode over the whole prompt; logits only for the last
//      token, as llama-bench does).
// tgN: tokens/s generating N tokens one at a time from an empty context: each step is one llama_decode of a
//      single token whose logits are read back (greedy argmax; no real sampling cost).
//      With --depth D the context already holds D random tokens (evaluated once, untimed) when the timed
//      tokens start, like llama-bench -d; between repetitions only the generated tokens are erased again.
// ttft N: seconds to evaluate an N-token prompt from an empty context (in batches of --batch) and read the
//      last token's logits: the time to the first token with the model already loaded.
// Each reported number is the mean (± sample stddev) of the per-repetition tokens/s, like llama-bench.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, "llamacpp", "node_modules", "node-llama-cpp");

const USAGE = `usage: node bench/llamacpp_bench.mjs --model M.gguf --threads T [options]
  --pp N            prompt tokens for the pp test (default 512; 0 = skip)
  --tg N            generated tokens for the tg test (default 128; 0 = skip)
  --depth D         run the tg test after D random tokens are in the context (default 0)
  --ttft N          time an N-token prompt from an empty context + its last logits (default 0 = skip)
  --reps N          timed repetitions of each test (default 5)
  --warmup N        untimed warm-up runs of each test (default 1; the tg warm-up generates min(tg,16) tokens)
  --ctx N           context size (default max(1024, pp + tg, depth + tg, ttft), rounded up to 256)
  --batch N         batch (= ubatch) size (default = pp, or 512 without a pp test)
  --flash-attn      turn flash attention on (default off, as in llama-bench)
  --no-mmap         read the weights into memory instead of mapping the file (llama.cpp --no-mmap)
  --seed N          seed for the random token ids (default 1)
  --json            print one JSON object on stdout (progress goes to stderr)
  --verbose         forward llama.cpp info logs to stderr`;

function parseArgs(argv) {
    const o = {model: null, threads: null, pp: 512, tg: 128, depth: 0, ttft: 0, reps: 5, warmup: 1, ctx: null,
        batch: null, flashAttn: false, mmap: true, seed: 1, json: false, verbose: false};
    const num = (i) => {
        const v = Number(argv[i + 1]);
        if (!Number.isInteger(v) || v < 0) die(`bad value for ${argv[i]}: ${argv[i + 1]}`);
        return v;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        switch (a) {
            case "--model": case "-m": o.model = argv[++i]; break;
            case "--threads": case "-t": o.threads = num(i); i++; break;
            case "--pp": case "-p": o.pp = num(i); i++; break;
            case "--tg": case "-n": o.tg = num(i); i++; break;
            case "--depth": case "-d": o.depth = num(i); i++; break;
            case "--ttft": o.ttft = num(i); i++; break;
            case "--reps": case "-r": o.reps = num(i); i++; break;
            case "--warmup": o.warmup = num(i); i++; break;
            case "--ctx": o.ctx = num(i); i++; break;
            case "--batch": case "-b": o.batch = num(i); i++; break;
            case "--seed": o.seed = num(i); i++; break;
            case "--flash-attn": case "-fa": o.flashAttn = true; break;
            case "--no-mmap": o.mmap = false; break;
            case "--json": o.json = true; break;
            case "--verbose": case "-v": o.verbose = true; break;
            case "--help": case "-h": console.log(USAGE); process.exit(0); break;
            default: die(`unknown argument: ${a}\n${USAGE}`);
        }
    }
    if (!o.model) die(`--model is required\n${USAGE}`);
    if (!fs.existsSync(o.model)) die(`model not found: ${o.model}`);
    if (o.threads == null || o.threads < 1) o.threads = os.availableParallelism();
    if (o.reps < 1) die("--reps must be >= 1");
    if (o.batch == null) o.batch = o.pp > 0 ? o.pp : 512;
    if (o.batch < 1) die("--batch must be >= 1");
    const need = Math.max(o.pp + o.tg, o.depth + o.tg, o.ttft);
    if (o.ctx == null) o.ctx = Math.max(1024, need);
    o.ctx = Math.ceil(o.ctx / 256) * 256;
    if (o.pp > o.batch) die(`--pp ${o.pp} does not fit in one batch of --batch ${o.batch}`);
    if (need > o.ctx) die(`--ctx ${o.ctx} is smaller than max(pp + tg, depth + tg, ttft) = ${need}`);
    return o;
}

function die(msg) {
    process.stderr.write(`llamacpp_bench: ${msg}\n`);
    process.exit(2);
}

// xorshift32: deterministic random token ids
function rng(seed) {
    let s = (seed >>> 0) || 0x9e3779b9;
    return () => {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        return s;
    };
}

function stats(xs) {
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    return {mean, sd};
}

// CPU time (seconds) used by the whole machine and by this process so far, from /proc (Linux); the difference
// over a test tells how much CPU other processes took while we were measuring (= how noisy the number is).
const CLK_TCK = 100;
function cpuTimes() {
    try {
        const all = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
        // user nice system idle iowait irq softirq steal
        const busy = all[0] + all[1] + all[2] + all[5] + all[6] + (all[7] || 0);
        const self = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
        const mine = Number(self[11]) + Number(self[12]); // utime stime (fields 14, 15)
        return {busy: busy / CLK_TCK, mine: mine / CLK_TCK, t: nowS()};
    } catch { return null; }
}
function otherCores(a, b) {
    if (!a || !b || b.t <= a.t) return null;
    return Math.max(0, (b.busy - a.busy) - (b.mine - a.mine)) / (b.t - a.t);
}

function mappedCpuBackends() {
    try {
        const libs = fs.readFileSync("/proc/self/maps", "utf8").split("\n")
            .map((l) => l.split(/\s+/).slice(5).join(" ")).filter((p) => /\/libggml-cpu-[^/]*\.so$/.test(p));
        return [...new Set(libs)];
    } catch { return []; }
}

const nowS = () => Number(process.hrtime.bigint()) / 1e9;

function readJson(p) {
    try { return JSON.parse(fs.readFileSync(p, "utf8")); } catch { return null; }
}

// The llama.cpp source that node-llama-cpp's prebuilt binaries were built from is shipped as a git bundle;
// its header names the commit ("# v2 git bundle\n<sha> HEAD\n...").
function bundleCommit() {
    try {
        const fd = fs.openSync(path.join(pkgDir, "llama", "gitRelease.bundle"), "r");
        const buf = Buffer.alloc(256);
        fs.readSync(fd, buf, 0, 256, 0);
        fs.closeSync(fd);
        const m = /\n([0-9a-f]{40}) /.exec(buf.toString("latin1"));
        return m ? m[1] : null;
    } catch { return null; }
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const out = o.json ? (s) => process.stderr.write(s + "\n") : (s) => process.stdout.write(s + "\n");

    // No source download / compilation ever: only the prebuilt binaries in node_modules are acceptable.
    process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
    if (!fs.existsSync(pkgDir)) die(`node-llama-cpp is not installed: run (cd bench/llamacpp && npm install --omit=optional)`);
    const {getLlama, LlamaLogLevel} = await import(path.join(pkgDir, "dist", "index.js"));

    let cpuBackend = null;
    const logger = (level, message) => {
        const m = /loaded CPU backend from (\S+)/.exec(message);
        if (m) cpuBackend = m[1];
        if (level === "error" || level === "fatal" || level === "warn" || o.verbose)
            process.stderr.write(`[llama.cpp ${level}] ${message.endsWith("\n") ? message : message + "\n"}`);
    };
    const llama = await getLlama({
        gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, progressLogs: false,
        maxThreads: 0, // no cap: the context's thread count is what llama.cpp uses
        logLevel: LlamaLogLevel.debug, logger // "log" level (below info) carries "loaded CPU backend from ..."
    });
    if (!o.verbose) llama.logLevel = LlamaLogLevel.warn;

    const nlcVersion = readJson(path.join(pkgDir, "package.json"))?.version ?? "?";
    const rel = llama.llamaCppRelease;
    const commit = bundleCommit();
    const build = `${rel.repo}@${rel.release}` + (commit ? ` (source ${commit.slice(0, 10)})` : "") +
        ` via node-llama-cpp ${nlcVersion} ${llama.buildType}`;

    // ggml loads every libggml-cpu-<variant>.so to score it, then keeps the best one mapped; the log line
    // saying which arrives asynchronously, so look at what is mapped (the test loads are unloaded again).
    const mapped = mappedCpuBackends();
    if (mapped.length === 1) cpuBackend = mapped[0];
    else if (!cpuBackend) await new Promise((r) => setTimeout(r, 200));
    const variant = cpuBackend ? path.basename(cpuBackend).replace(/^libggml-cpu-|\.so$/g, "") : "?";
    out(`llama.cpp:   ${build}`);
    out(`backend:     cpu (${cpuBackend ?? "CPU backend path unknown"})`);
    out(`system info: ${llama.systemInfo.trim()}`);

    let t0 = nowS();
    const model = await llama.loadModel({modelPath: o.model, gpuLayers: 0, useMmap: o.mmap});
    const loadS = nowS() - t0;
    const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ??
        model.fileInfo.fullTensorInfo?.find((t) => t.name === "token_embd.weight")?.dimensions?.[1];
    if (!nVocab) die("could not determine the vocabulary size");
    out(`model:       ${o.model} (${model.fileInfo.metadata?.general?.architecture}, ${model.typeDescription}, ` +
        `${(model.size / 2 ** 30).toFixed(2)} GiB, vocab ${nVocab}) loaded in ${loadS.toFixed(1)} s, ` +
        `mmap ${model.useMmap}`);

    const context = await model.createContext({
        contextSize: o.ctx, batchSize: o.batch, sequences: 1, flashAttention: o.flashAttn,
        threads: {ideal: o.threads, min: o.threads}, failedCreationRemedy: false, performanceTracking: false
    });
    // no state checkpoints (node-llama-cpp takes them for SWA models to allow prefix reuse; llama-bench doesn't)
    const seq = context.getSequence({checkpoints: {max: 1, interval: false}});
    out(`context:     n_ctx ${context.contextSize}, n_batch = n_ubatch ${context.batchSize}, ` +
        `threads ${context.currentThreads}, flash_attn ${context.flashAttention}`);
    if (context.currentThreads !== o.threads)
        process.stderr.write(`warning: context uses ${context.currentThreads} threads, asked for ${o.threads}\n`);

    const rand = rng(o.seed);
    const randTok = () => rand() % nVocab;

    // Both tests go through LlamaContextSequence.evaluate(): a generator that decodes the tokens it is given
    // (one llama_decode per batch), then samples greedily from the last token's logits (temperature 0 =
    // argmax, no real sampling cost) and yields that token; the value passed to next() is the next input.
    // One generator (and so one native sampler) per run: controlledEvaluate() would build a new sampler,
    // with a vocab-sized candidate array, for every call, which costs milliseconds per generated token.
    const evalOpts = {temperature: 0, yieldEogToken: true}; // random weights may well "generate" an EOG token

    // One prompt of n random tokens from an empty context, in batches of --batch (one llama_decode for n <= batch),
    // logits for the last token only; returns seconds until that token's logits are read.
    async function timePrompt(n, what) {
        await seq.clearHistory();
        const input = Array.from({length: n}, randTok);
        const t = nowS();
        const it = seq.evaluate(input, evalOpts);
        const r = await it.next();
        const dt = nowS() - t;
        await it.return();
        if (r.done || typeof r.value !== "number") die(`${what}: no token came back`);
        if (seq.nextTokenIndex !== n + 1 && seq.nextTokenIndex !== n)
            die(`${what}: sequence holds ${seq.nextTokenIndex} tokens, expected ${n}`);
        return dt;
    }

    // pp: one decode of n tokens from an empty context, logits for the last one
    const runPP = async (n) => n / await timePrompt(n, "pp");

    // ttft: an n-token prompt from an empty context (possibly several batches) until its last logits
    const runTTFT = (n) => timePrompt(n, "ttft");

    // The --depth prefix: o.depth random tokens evaluated once, untimed. Each tg run afterwards erases the
    // tokens the previous one added (llama_memory_seq_rm of the tail), so the prefix is evaluated once per process.
    let depthFill = null; // {prefill_s, erase_s: [...]}
    async function startAtDepth() {
        if (o.depth === 0) {
            await seq.clearHistory();
            return;
        }
        if (depthFill != null && seq.nextTokenIndex > o.depth) {
            const t = nowS();
            await seq.eraseContextTokenRanges([{start: o.depth, end: seq.nextTokenIndex}]);
            depthFill.erase_s.push(nowS() - t);
        }
        if (depthFill != null && seq.nextTokenIndex === o.depth) return;
        await seq.clearHistory();
        const t = nowS();
        await seq.evaluateWithoutGeneratingNewTokens(Array.from({length: o.depth}, randTok));
        depthFill = {prefill_s: nowS() - t, erase_s: []};
        if (seq.nextTokenIndex !== o.depth)
            die(`depth: sequence holds ${seq.nextTokenIndex} tokens, expected ${o.depth}`);
        out(`  depth    ${o.depth} tokens evaluated in ${depthFill.prefill_s.toFixed(2)} s (not timed)`);
    }

    // tg: n single-token decodes after o.depth tokens of context, reading the logits after each
    async function runTG(n) {
        await startAtDepth();
        const first = o.depth === 0 ? (model.tokens.bos ?? randTok()) : randTok();
        const t = nowS();
        const it = seq.evaluate([first], evalOpts);
        for (let i = 0; i < n; i++) {
            // like llama-bench, the next input is a random token rather than the argmax
            const r = await (i === 0 ? it.next() : it.next(randTok()));
            if (r.done || typeof r.value !== "number") die("tg: no token came back");
        }
        const dt = nowS() - t;
        await it.return();
        if (seq.nextTokenIndex !== o.depth + n)
            die(`tg: sequence holds ${seq.nextTokenIndex} tokens, expected ${o.depth + n}`);
        return n / dt;
    }

    // key: the JSON field; label: the table's test name; unit: what run() returns
    const tests = [];
    if (o.pp > 0)
        tests.push({key: `pp${o.pp}`, label: `pp${o.pp}`, unit: "t/s", run: () => runPP(o.pp), warm: () => runPP(o.pp)});
    if (o.tg > 0)
        tests.push({key: `tg${o.tg}`, label: `tg${o.tg}` + (o.depth > 0 ? ` @ d${o.depth}` : ""), unit: "t/s",
            run: () => runTG(o.tg), warm: () => runTG(Math.min(o.tg, 16))});
    if (o.ttft > 0)
        tests.push({key: "ttft", label: `ttft${o.ttft}`, unit: "s", run: () => runTTFT(o.ttft), warm: () => runTTFT(o.ttft)});

    const fmt = (x, unit) => (unit === "s" ? x.toFixed(3) : x.toFixed(2));
    const results = {};
    for (const test of tests) {
        for (let w = 0; w < o.warmup; w++) {
            const x = await test.warm();
            out(`  warm-up  ${test.label} #${w + 1}: ${fmt(x, test.unit)} ${test.unit} (not counted)`);
        }
        const xs = [], others = [];
        for (let r = 0; r < o.reps; r++) {
            const c0 = cpuTimes();
            const x = await test.run();
            const oc = otherCores(c0, cpuTimes());
            xs.push(x);
            others.push(oc);
            out(`  run      ${test.label} #${r + 1}: ${fmt(x, test.unit)} ${test.unit}` +
                (oc == null ? "" : `   (other processes used ${oc.toFixed(2)} CPUs meanwhile)`));
        }
        results[test.key] = {...stats(xs), samples: xs, others, label: test.label, unit: test.unit};
        const worst = Math.max(...others.filter((x) => x != null), 0);
        if (worst > 0.1)
            out(`  warning: other processes took up to ${worst.toFixed(2)} CPUs during ${test.label}: the number is noisy`);
    }

    const maxRssGiB = process.resourceUsage().maxRSS / 2 ** 20;
    out("");
    out(`| model | size | backend | threads | test | result |`);
    out(`| --- | ---: | --- | ---: | ---: | ---: |`);
    const mname = path.basename(o.model);
    for (const r of Object.values(results))
        out(`| ${mname} | ${(model.size / 2 ** 30).toFixed(2)} GiB | cpu-${variant} | ${o.threads} | ${r.label} | ` +
            `${fmt(r.mean, r.unit)} ± ${fmt(r.sd, r.unit)} ${r.unit} |`);
    out(`peak RSS ${maxRssGiB.toFixed(2)} GiB`);

    if (o.json) {
        const round3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000);
        const j = {};
        // a test's mean is j[key] (pp512, tg128) or j.ttft_s; its other fields are key_stddev, key_samples, ...
        for (const [key, r] of Object.entries(results)) j[key === "ttft" ? "ttft_s" : key] = r.mean;
        Object.assign(j, {threads: o.threads, llama_cpp_build: build, backend: "cpu"});
        for (const [key, r] of Object.entries(results)) {
            j[`${key}_stddev`] = r.sd;
            j[`${key}_samples`] = r.samples;
            j[`${key}_other_cpus`] = r.others.map(round3); // CPUs used by other processes during each rep
        }
        // the same names as `g4 bench --json`, so both engines' results read alike
        const pp = results[`pp${o.pp}`], tg = results[`tg${o.tg}`];
        Object.assign(j, {
            n_prompt: o.pp, n_gen: o.tg, depth: o.depth, ttft_prompt: o.ttft,
            pp: pp?.mean ?? 0, pp_stddev: pp?.sd ?? 0, tg: tg?.mean ?? 0, tg_stddev: tg?.sd ?? 0
        });
        if (o.depth > 0 && depthFill) Object.assign(j, {depth_prefill_s: depthFill.prefill_s, depth_erase_s: depthFill.erase_s.map(round3)});
        Object.assign(j, {
            cpu_variant: variant, node_llama_cpp: nlcVersion, llama_cpp_commit: commit,
            model: o.model, model_bytes: model.size, n_ctx: context.contextSize, n_batch: context.batchSize,
            flash_attn: o.flashAttn, mmap: model.useMmap, reps: o.reps, warmup: o.warmup, load_s: loadS,
            peak_rss_bytes: Math.round(maxRssGiB * 2 ** 30)
        });
        process.stdout.write(JSON.stringify(j) + "\n");
    }

    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((err) => {
    process.stderr.write(`llamacpp_bench: ${err?.stack ?? err}\n`);
    process.exit(1);
});
