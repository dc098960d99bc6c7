#!/usr/bin/env node
'use strict';
// Runs a model in ONNX Runtime (CPU) on input samples laid out like `quantize run --inputs DIR`,
// optionally saves the outputs as OUTDIR/<sample>/<output>.npy, and prints timing JSON on stdout.
const fs = require('fs');
const path = require('path');
const { parseArgs, UsageError, createSession, inputDecls, toFeeds, fromTensor, median, nowMs, runMain, loadOrt } = require('./common');
const { openSamples, safeName } = require('./samples');
const npy = require('./npy');

const USAGE = `usage: node tools/ort/run.js MODEL --inputs DIR [options]
  --inputs DIR         samples: DIR/*.npy (batch files split into rows), DIR/<sample>/<input>.npy,
                       DIR/test_data_set_N/input_K.pb, or a single .npy file
  --save-outputs OUT   write OUT/<sample id>/<output name>.npy ('/ : \\ [ ]' replaced by '_')
  --threads N          intra-op threads (default 1; inter-op threads are always 1)
  --opt LEVEL          graph optimization: disabled|basic|extended|all (default all)
  --repeat N           timed runs per sample (default 1)
  --warmup N           untimed runs of the first sample before timing (default 0)
  --max-samples N      use the first N samples
  --ignore NAME        skip this file/folder name in DIR (repeatable), e.g. labels.npy
Prints {"samples":N,"median_ms":x,"times_ms":[...]} where times_ms holds each sample's median
over its repeats and median_ms is the median of those.
`;

async function main() {
  const a = parseArgs(process.argv.slice(2), {
    '--inputs': 'string', '--save-outputs': 'string', '--threads': 'int', '--opt': 'string',
    '--repeat': 'int', '--warmup': 'int', '--max-samples': 'int', '--ignore': 'list',
  }, USAGE);
  if (a._.length !== 1) throw new UsageError('expected exactly one MODEL argument');
  if (!a.inputs) throw new UsageError('--inputs DIR is required');
  const threads = a.threads === undefined ? 1 : a.threads;
  const repeat = a.repeat === undefined ? 1 : a.repeat;
  if (threads < 1) throw new UsageError('--threads must be >= 1');
  if (repeat < 1) throw new UsageError('--repeat must be >= 1');
  const opt = a.opt || 'all';

  const session = await createSession(a._[0], { threads, opt });
  const src = openSamples(a.inputs, inputDecls(session), { maxSamples: a.maxSamples, ignore: a.ignore });
  if (a.saveOutputs) fs.mkdirSync(a.saveOutputs, { recursive: true });

  if (a.warmup > 0 && src.samples.length > 0) {
    const feeds = toFeeds(src.samples[0].load());
    for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
  }
  const t0 = nowMs();
  const perSample = [];
  for (const s of src.samples) {
    const feeds = toFeeds(s.load());
    const times = [];
    let outs;
    for (let r = 0; r < repeat; ++r) {
      const t = nowMs();
      outs = await session.run(feeds);
      times.push(nowMs() - t);
    }
    perSample.push(median(times));
    if (a.saveOutputs) {
      const dir = path.join(a.saveOutputs, safeName(s.id));
      fs.mkdirSync(dir, { recursive: true });
      for (const name of session.outputNames) npy.writeNpy(path.join(dir, `${safeName(name)}.npy`), fromTensor(outs[name]));
    }
  }
  const round = (x) => Math.round(x * 1e4) / 1e4;
  process.stdout.write(JSON.stringify({
    samples: src.samples.length,
    median_ms: round(median(perSample)),
    times_ms: perSample.map(round),
    layout: src.layout,
    threads,
    opt,
    repeat,
    total_s: round((nowMs() - t0) / 1000),
    ort_version: loadOrt().env.versions.common,
  }) + '\n');
  return 0;
}

runMain(main);
