#!/usr/bin/env node
'use strict';
// Runs a model in ONNX Runtime (CPU) and compares its outputs with the ones our executor saved via
// `quantize run MODEL --inputs DIR --save-outputs OURDIR`, and/or reports top-1 accuracy vs labels.
const fs = require('fs');
const path = require('path');
const { parseArgs, UsageError, createSession, inputDecls, toFeeds, fromTensor, nowMs, runMain } = require('./common');
const { openSamples, safeName } = require('./samples');
const npy = require('./npy');

const USAGE = `usage: node tools/ort/compare.js MODEL --inputs DIR --expected OURDIR [options]
       node tools/ort/compare.js MODEL --inputs DIR --top1 LABELS.npy [options]
  --inputs DIR         samples, same layouts as run.js / quantize run (a single .npy file works too)
  --expected OURDIR    outputs of our executor: OURDIR/<sample id>/<output name>.npy
  --atol A --rtol R    element check |ours - ort| <= A + R*|ort| (defaults 1e-4, 1e-4)
  --opt LEVEL          ORT graph optimization: disabled|basic|extended|all (default basic)
  --threads N          ORT intra-op threads (default 1)
  --max-samples N      use the first N samples
  --ignore NAME        skip this file/folder name in DIR (repeatable)
  --labels FILE.npy    integer labels, one per output row in sample order: adds top-1 accuracy of
                       ORT ("top1") and of OURDIR ("top1_expected") for the first rank-2 output
  --top1 FILE.npy      same as --labels, --expected becomes optional (ORT accuracy only)
A labels file inside DIR is skipped as a sample automatically.
Prints one JSON line {"samples","max_abs_diff","max_rel_diff","mismatches","argmax_agreement",...};
max_rel_diff is max |ours-ort|/|ort| over elements with |ort| > atol; argmax_agreement is the share
of rows (last axis, outputs with last dim > 1) whose argmax agrees. Exit 1 if any element fails
the check (or a shape differs), 2 on errors, 0 otherwise.
`;

function toNumberArray(arr) {
  const d = arr.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  if (arr.dtype === 'float16') throw new Error('float16 outputs are not supported by compare.js');
  return d;
}

// argmax over the last axis of each row; null when the output has rank 0 or last dim <= 1.
function rowArgmax(arr) {
  if (arr.shape.length === 0) return null;
  const c = arr.shape[arr.shape.length - 1];
  if (c <= 1) return null;
  const d = toNumberArray(arr);
  const rows = d.length / c;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; ++r) {
    let best = 0;
    let bv = d[r * c];
    for (let j = 1; j < c; ++j) if (d[r * c + j] > bv) { bv = d[r * c + j]; best = j; }
    out[r] = best;
  }
  return out;
}

async function main() {
  const a = parseArgs(process.argv.slice(2), {
    '--inputs': 'string', '--expected': 'string', '--opt': 'string', '--atol': 'number', '--rtol': 'number',
    '--threads': 'int', '--max-samples': 'int', '--ignore': 'list', '--labels': 'string', '--top1': 'string',
  }, USAGE);
  if (a._.length !== 1) throw new UsageError('expected exactly one MODEL argument');
  if (!a.inputs) throw new UsageError('--inputs DIR is required');
  if (a.labels && a.top1 && a.labels !== a.top1) throw new UsageError('give --labels or --top1, not both');
  const labelsPath = a.top1 || a.labels;
  if (!a.expected && !labelsPath) throw new UsageError('--expected OURDIR (or --top1 LABELS.npy) is required');
  const atol = a.atol === undefined ? 1e-4 : a.atol;
  const rtol = a.rtol === undefined ? 1e-4 : a.rtol;
  const threads = a.threads === undefined ? 1 : a.threads;
  if (threads < 1) throw new UsageError('--threads must be >= 1');
  const opt = a.opt || 'basic';

  let labels = null;
  const ignore = (a.ignore || []).slice();
  if (labelsPath) {
    const l = npy.readNpy(labelsPath);
    if (!/^u?int/.test(l.dtype)) throw new Error(`${labelsPath}: labels must be integers, the file holds ${l.dtype}`);
    labels = Float64Array.from(l.data, Number);
    try {
      if (fs.statSync(a.inputs).isDirectory() && path.resolve(path.dirname(labelsPath)) === path.resolve(a.inputs))
        ignore.push(path.basename(labelsPath));
    } catch (_) { /* openSamples reports a missing folder */ }
  }

  const t0 = nowMs();
  const session = await createSession(a._[0], { threads, opt });
  const src = openSamples(a.inputs, inputDecls(session), { maxSamples: a.maxSamples, ignore });
  const names = session.outputNames;

  let maxAbs = 0;
  let maxRel = 0;
  let mismatches = 0;
  let compared = 0;
  let agree = 0;
  let argRows = 0;
  let labelPos = 0;
  let top1Output = null;
  let correct = 0;
  let correctOurs = 0;
  let reported = 0;
  const report = (msg) => {
    if (reported++ < 10) process.stderr.write(`${msg}\n`);
  };

  for (const s of src.samples) {
    const outs = await session.run(toFeeds(s.load()));
    let rowsUsed = 0;
    for (const name of names) {
      const ref = fromTensor(outs[name]);
      let ours = null;
      if (a.expected) {
        const file = path.join(a.expected, safeName(s.id), `${safeName(name)}.npy`);
        if (!fs.existsSync(file)) throw new Error(`${file}: missing expected output for sample '${s.id}', output '${name}'`);
        ours = npy.readNpy(file);
        if (ours.shape.length !== ref.shape.length || ours.shape.some((d, i) => d !== ref.shape[i])) {
          report(`${s.id} ${name}: shape [${ours.shape}] in ${file}, ORT gives [${ref.shape}]`);
          mismatches += Math.max(ref.data.length, 1);
          ours = null;
        } else {
          const x = toNumberArray(ours);
          const y = toNumberArray(ref);
          for (let i = 0; i < y.length; ++i) {
            const diff = Math.abs(x[i] - y[i]);
            const ok = x[i] === y[i] || diff <= atol + rtol * Math.abs(y[i]);
            if (!ok) {
              ++mismatches;
              report(`${s.id} ${name}[${i}]: ours ${x[i]}, ort ${y[i]}`);
            }
            if (x[i] !== y[i]) {
              const d = Number.isNaN(diff) ? Infinity : diff;
              if (d > maxAbs) maxAbs = d;
              if (Math.abs(y[i]) > atol && d / Math.abs(y[i]) > maxRel) maxRel = d / Math.abs(y[i]);
            }
          }
          compared += y.length;
          const am = rowArgmax(ref);
          if (am) {
            const bm = rowArgmax(ours);
            for (let r = 0; r < am.length; ++r) if (am[r] === bm[r]) ++agree;
            argRows += am.length;
          }
        }
      }
      if (labels && ref.shape.length === 2 && (top1Output === null || top1Output === name)) {
        top1Output = name;
        const rows = ref.shape[0];
        if (labelPos + rows > labels.length)
          throw new Error(`${labelsPath}: has ${labels.length} labels, fewer than the ${labelPos + rows}+ output rows`);
        const am = rowArgmax(ref);
        const bm = ours ? rowArgmax(ours) : null;
        for (let r = 0; r < rows; ++r) {
          if (am && am[r] === labels[labelPos + r]) ++correct;
          if (bm && bm[r] === labels[labelPos + r]) ++correctOurs;
        }
        rowsUsed = rows;
      }
    }
    labelPos += rowsUsed;
  }

  const summary = {
    samples: src.samples.length,
    max_abs_diff: a.expected ? maxAbs : null,
    max_rel_diff: a.expected ? maxRel : null,
    mismatches: a.expected ? mismatches : null,
    argmax_agreement: argRows ? agree / argRows : null,
    elements: compared,
    atol,
    rtol,
    opt,
  };
  if (labels) {
    summary.top1 = labelPos ? correct / labelPos : null;
    if (a.expected) summary.top1_expected = labelPos ? correctOurs / labelPos : null;
    summary.top1_output = top1Output;
    summary.labeled_rows = labelPos;
    if (labelPos !== labels.length) process.stderr.write(`note: used ${labelPos} of ${labels.length} labels\n`);
  }
  summary.seconds = Math.round(nowMs() - t0) / 1000;
  process.stdout.write(JSON.stringify(summary) + '\n');
  return mismatches > 0 ? 1 : 0;
}

runMain(main);
