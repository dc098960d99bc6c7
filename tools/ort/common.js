'use strict';
// Shared helpers of run.js and compare.js: argument parsing, session creation, tensor conversion.
const fs = require('fs');

let ort;
function loadOrt() {
  if (!ort) {
    try {
      ort = require('onnxruntime-node');
    } catch (e) {
      throw new Error(`cannot load onnxruntime-node (${e.message.split('\n')[0]}); run ` +
        '`ONNXRUNTIME_NODE_INSTALL=skip npm ci` in tools/ort first');
    }
  }
  return ort;
}

class UsageError extends Error {}

// spec: {'--name': 'string' | 'int' | 'number' | 'list' | 'bool'}; one positional (MODEL).
function parseArgs(argv, spec, usage) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; ++i) {
    let a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    let val;
    const eq = a.indexOf('=');
    if (eq > 0) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const kind = spec[a];
    if (!kind) throw new UsageError(`unknown option ${a}`);
    const key = a.slice(2).replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
    if (kind === 'bool') {
      out[key] = true;
      continue;
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
      val = argv[++i];
    }
    if (kind === 'int') {
      if (!/^\d+$/.test(val)) throw new UsageError(`option ${a} needs a non-negative integer, got '${val}'`);
      out[key] = Number(val);
    } else if (kind === 'number') {
      const v = Number(val);
      if (val.trim() === '' || !Number.isFinite(v) || v < 0) throw new UsageError(`option ${a} needs a non-negative number, got '${val}'`);
      out[key] = v;
    } else if (kind === 'list') {
      (out[key] = out[key] || []).push(val);
    } else {
      out[key] = val;
    }
  }
  return out;
}

const OPT_LEVELS = { disabled: 'disabled', basic: 'basic', extended: 'extended', all: 'all' };

async function createSession(model, { threads = 1, opt = 'all' } = {}) {
  if (!OPT_LEVELS[opt]) throw new UsageError(`--opt must be one of ${Object.keys(OPT_LEVELS).join('|')}, got '${opt}'`);
  if (!fs.existsSync(model)) throw new UsageError(`model '${model}' does not exist`);
  const o = loadOrt();
  try {
    return await o.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: OPT_LEVELS[opt],
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new Error(`${model}: ONNX Runtime cannot load the model: ${e.message}`);
  }
}

// [{name, type, shape}] of the runtime inputs.
function inputDecls(session) {
  const meta = session.inputMetadata;
  if (!meta) throw new Error('this onnxruntime-node has no session.inputMetadata (need >= 1.22)');
  return meta.map((m) => {
    if (m.isTensor === false) throw new Error(`input '${m.name}' is not a tensor; not supported`);
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

function toFeeds(inputs) {
  const o = loadOrt();
  const feeds = {};
  for (const [name, a] of Object.entries(inputs)) feeds[name] = new o.Tensor(a.dtype, a.data, a.shape);
  return feeds;
}

function fromTensor(t) {
  return { dtype: t.type, shape: t.dims.map(Number), data: t.data };
}

// Upper median (a[n/2] of the sorted values), like the C++ tool's `quantize run`.
function median(values) {
  if (values.length === 0) return 0;
  const s = values.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

// Runs main(); usage problems exit 2, other errors exit 2 too (1 is reserved for compare mismatches).
function runMain(main) {
  main().then(
    (code) => process.exit(code || 0),
    (e) => {
      process.stderr.write(`error: ${e instanceof UsageError ? e.message + ' (see --help)' : e.message}\n`);
      process.exit(2);
    },
  );
}

module.exports = { loadOrt, parseArgs, UsageError, createSession, inputDecls, toFeeds, fromTensor, median, nowMs, runMain };
