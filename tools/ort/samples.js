'use strict';
// Input samples of a folder, listed exactly like the C++ tool's SampleSource (src/data/sample_source.h)
// so that sample ids, order and batch handling agree:
//   "npy"          DIR/*.npy, single-input models. A file is one sample (the declared shape, or the
//                  declared shape without its batch dim: a leading 1 is added) or, when the declared
//                  batch dim is dynamic or 1 and the file has the declared rank with more than one
//                  row, a batch split into samples of batch 1 with ids "file.npy[17]".
//   "npy-folders"  DIR/<sample>/<input>.npy, one sub-folder per sample, one file per runtime input
//                  named after the input (or with '/' and ':' replaced by '_').
//   "onnx-pb"      DIR/test_data_set_N/input_K.pb (sorted by N numerically), or input_K.pb directly
//                  in DIR (one sample). input_K binds to the K-th input unless the TensorProto's name
//                  is an input name.
// A path to a single .npy file is accepted too. Hidden names (leading '.') and names in
// opts.ignore are skipped. Samples sort by name in byte order; opts.maxSamples keeps the first N.
// .npz archives and image folders are not supported here (use `quantize run` for those).
//
// model inputs: [{name, type, shape}] as in ort's session.inputMetadata (dynamic dims are strings,
// negative or null). Every sample is checked like the C++ tool does: dtype equal, rank equal, fixed
// dims equal, no NaN/Inf in float data; errors name the file and the input.
const fs = require('fs');
const path = require('path');
const npy = require('./npy');

function isDynamic(d) {
  return typeof d !== 'number' || d < 0;
}

function declStr(decl) {
  return `[${decl.shape.map((d) => (isDynamic(d) ? (typeof d === 'string' && d ? d : '?') : d)).join(',')}]`;
}

function byteCompare(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sanitizedName(name) {
  return name.replace(/[/:]/g, '_');
}

// dtype equal, rank equal, fixed dims equal (optionally skipping axis 0).
function checkDecl(decl, dtype, shape, what, skipBatch = false) {
  if (dtype !== decl.type)
    throw new Error(`${what}: input '${decl.name}' expects ${decl.type}, the file holds ${dtype}`);
  if (shape.length !== decl.shape.length)
    throw new Error(`${what}: input '${decl.name}' expects rank ${decl.shape.length} ${declStr(decl)}, the file has shape [${shape}]`);
  decl.shape.forEach((d, i) => {
    if (i === 0 && skipBatch) return;
    if (!isDynamic(d) && d !== shape[i])
      throw new Error(`${what}: input '${decl.name}' expects ${declStr(decl)}, the file has shape [${shape}]`);
  });
}

function batchIsFree(decl) {
  return decl.shape.length > 0 && (isDynamic(decl.shape[0]) || decl.shape[0] === 1);
}

// Rank one less than the declaration and a dynamic-or-1 batch: prepend 1.
function addBatchDim(decl, shape) {
  if (shape.length + 1 === decl.shape.length && batchIsFree(decl)) return [1, ...shape];
  return shape;
}

function checkFinite(arr, decl, what) {
  if (arr.dtype !== 'float32' && arr.dtype !== 'float64') return;
  const d = arr.data;
  for (let i = 0; i < d.length; ++i) {
    if (!Number.isFinite(d[i])) throw new Error(`${what}: input '${decl.name}' contains ${d[i]} at flat index ${i}`);
  }
}

function finish(arr, decl, what) {
  arr.shape = addBatchDim(decl, arr.shape);
  checkDecl(decl, arr.dtype, arr.shape, what);
  checkFinite(arr, decl, what);
  return arr;
}

// ---- layouts -------------------------------------------------------------------------------------

function listNpyFiles(dir, names, inputs) {
  if (inputs.length !== 1)
    throw new Error(`${dir}: DIR/*.npy feeds single-input models only; this model has ${inputs.length} inputs ` +
      `(${inputs.map((i) => `'${i.name}'`).join(', ')}); use DIR/<sample>/<input>.npy`);
  const decl = inputs[0];
  const samples = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const info = npy.readNpyInfo(file);
    const rank = decl.shape.length;
    if (info.shape.length === rank && batchIsFree(decl) && info.shape[0] > 1) {
      checkDecl(decl, info.dtype, info.shape, file, true);
      for (let r = 0; r < info.shape[0]; ++r) {
        samples.push({
          id: `${name}[${r}]`,
          files: [file],
          load: () => ({ [decl.name]: finish(npy.readNpyRows(file, info, r, 1), decl, `${file}[${r}]`) }),
        });
      }
    } else {
      checkDecl(decl, info.dtype, addBatchDim(decl, info.shape), file);
      samples.push({ id: name, files: [file], load: () => ({ [decl.name]: finish(npy.readNpy(file), decl, file) }) });
    }
  }
  return samples;
}

function listNpyFolders(dir, names, inputs) {
  return names.map((name) => {
    const sub = path.join(dir, name);
    const files = inputs.map((decl) => {
      for (const cand of [decl.name, sanitizedName(decl.name)]) {
        const f = path.join(sub, `${cand}.npy`);
        if (cand && !cand.includes('/') && fs.existsSync(f)) return f;
      }
      throw new Error(`${sub}: no file for input '${decl.name}' (expected ${sanitizedName(decl.name)}.npy)`);
    });
    files.forEach((f, k) => {
      const info = npy.readNpyInfo(f);
      checkDecl(inputs[k], info.dtype, addBatchDim(inputs[k], info.shape), f);
    });
    return {
      id: name,
      files,
      load: () => Object.fromEntries(inputs.map((decl, k) => [decl.name, finish(npy.readNpy(files[k]), decl, files[k])])),
    };
  });
}

// ---- ONNX TensorProto (.pb) ----------------------------------------------------------------------

const PB_TYPES = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};
const CTORS = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array, float64: Float64Array,
  uint32: Uint32Array, uint64: BigUint64Array,
};

function parseTensorProto(buf, what) {
  let p = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (p >= buf.length) throw new Error(`${what}: truncated TensorProto`);
      const b = buf[p++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      if (shift > 63n) throw new Error(`${what}: bad varint in TensorProto`);
    }
  };
  const t = { dims: [], dataType: 0, name: '', raw: null, floats: [], doubles: [], ints: [], location: 0 };
  const packed = (wt, readOne, out) => {
    if (wt === 2) {
      const len = Number(varint());
      const end = p + len;
      while (p < end) out.push(readOne());
    } else {
      out.push(readOne());
    }
  };
  const f32 = () => { const v = buf.readFloatLE(p); p += 4; return v; };
  const f64 = () => { const v = buf.readDoubleLE(p); p += 8; return v; };
  while (p < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 1) packed(wt, () => Number(BigInt.asIntN(64, varint())), t.dims);
    else if (field === 2 && wt === 0) t.dataType = Number(varint());
    else if (field === 4) packed(wt, f32, t.floats);
    else if (field === 5) packed(wt, () => BigInt.asIntN(64, varint()), t.ints);
    else if (field === 7) packed(wt, () => BigInt.asIntN(64, varint()), t.ints);
    else if (field === 11) packed(wt, () => BigInt.asUintN(64, varint()), t.ints);
    else if (field === 10) packed(wt, f64, t.doubles);
    else if (field === 8 && wt === 2) { const n = Number(varint()); t.name = buf.toString('utf8', p, p + n); p += n; }
    else if (field === 9 && wt === 2) { const n = Number(varint()); t.raw = buf.subarray(p, p + n); p += n; }
    else if (field === 14 && wt === 0) t.location = Number(varint());
    else if (wt === 0) varint();
    else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) { const n = Number(varint()); p += n; } // (p must be read after varint() moves it)
    else throw new Error(`${what}: unsupported protobuf wire type ${wt}`);
    if (p > buf.length) throw new Error(`${what}: truncated TensorProto`);
  }
  if (t.location === 1) throw new Error(`${what}: TensorProto with external data is not supported`);
  const dtype = PB_TYPES[t.dataType];
  if (!dtype) throw new Error(`${what}: unsupported TensorProto data_type ${t.dataType}`);
  const n = npy.numel(t.dims);
  const Ctor = CTORS[dtype];
  let data;
  if (t.raw) {
    if (t.raw.length !== n * Ctor.BYTES_PER_ELEMENT) throw new Error(`${what}: raw_data holds ${t.raw.length} bytes, dims [${t.dims}] need ${n * Ctor.BYTES_PER_ELEMENT}`);
    const ab = new ArrayBuffer(t.raw.length);
    new Uint8Array(ab).set(t.raw);
    data = new Ctor(ab);
  } else {
    const src = dtype === 'float32' ? t.floats : dtype === 'float64' ? t.doubles : t.ints;
    if (src.length !== n) throw new Error(`${what}: TensorProto holds ${src.length} values, dims [${t.dims}] need ${n}`);
    const big = Ctor === BigInt64Array || Ctor === BigUint64Array;
    data = Ctor.from(src, big ? (v) => BigInt(v) : (v) => Number(v));
  }
  if (dtype === 'bool') for (let i = 0; i < data.length; ++i) data[i] = data[i] ? 1 : 0;
  return { name: t.name, dtype, shape: t.dims, data };
}

function pbFiles(folder) {
  return fs.readdirSync(folder)
    .map((f) => /^input_(\d+)\.pb$/.exec(f))
    .filter(Boolean)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => ({ k: Number(m[1]), file: path.join(folder, m[0]) }));
}

function pbSample(id, folder, inputs) {
  const files = pbFiles(folder);
  if (files.length === 0) throw new Error(`${folder}: no input_K.pb files`);
  return {
    id,
    files: files.map((f) => f.file),
    load: () => {
      const out = {};
      for (const { k, file } of files) {
        const t = parseTensorProto(fs.readFileSync(file), file);
        let decl = inputs.find((i) => i.name === t.name);
        if (!decl) decl = inputs[k];
        if (!decl) throw new Error(`${file}: input_${k} has no matching model input (the model has ${inputs.length})`);
        out[decl.name] = finish({ dtype: t.dtype, shape: t.shape, data: t.data }, decl, file);
      }
      for (const decl of inputs)
        if (!(decl.name in out)) throw new Error(`${folder}: no tensor for input '${decl.name}'`);
      return out;
    },
  };
}

// ---- entry point ---------------------------------------------------------------------------------

// Returns {layout, dir, total, samples: [{id, files, load() -> {inputName: {dtype, shape, data}}}]}.
function openSamples(dirOrFile, inputs, opts = {}) {
  const ignore = new Set(opts.ignore || []);
  let st;
  try {
    st = fs.statSync(dirOrFile);
  } catch (e) {
    throw new Error(`${dirOrFile}: cannot read input folder (${e.code || e.message})`);
  }
  let dir = dirOrFile;
  let layout;
  let samples;
  if (st.isFile()) {
    if (!dirOrFile.endsWith('.npy')) throw new Error(`${dirOrFile}: only single .npy files are supported here (use quantize run for .npz/images)`);
    dir = path.dirname(dirOrFile);
    layout = 'npy';
    samples = listNpyFiles(dir, [path.basename(dirOrFile)], inputs);
  } else {
    const entries = fs.readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.') && !ignore.has(e.name))
      .sort((a, b) => byteCompare(a.name, b.name));
    const isDir = (e) => e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(dir, e.name)).isDirectory());
    const npys = entries.filter((e) => !isDir(e) && e.name.endsWith('.npy')).map((e) => e.name);
    const subdirs = entries.filter(isDir).map((e) => e.name);
    const pbs = entries.filter((e) => !isDir(e) && /^input_\d+\.pb$/.test(e.name));
    const other = entries.filter((e) => !isDir(e) && /\.(npz|png|jpe?g)$/i.test(e.name));
    if (npys.length > 0) {
      if (subdirs.length > 0)
        throw new Error(`${dir}: mixes .npy files and sub-folders ('${subdirs[0]}'); use one layout`);
      layout = 'npy';
      samples = listNpyFiles(dir, npys, inputs);
    } else if (pbs.length > 0) {
      layout = 'onnx-pb';
      samples = [pbSample(path.basename(path.resolve(dir)), dir, inputs)];
    } else if (subdirs.length > 0 && subdirs.every((s) => /^test_data_set_\d+$/.test(s))) {
      layout = 'onnx-pb';
      const num = (s) => Number(s.slice('test_data_set_'.length));
      samples = subdirs.slice().sort((a, b) => num(a) - num(b) || byteCompare(a, b))
        .map((s) => pbSample(s, path.join(dir, s), inputs));
    } else if (subdirs.length > 0) {
      layout = 'npy-folders';
      samples = listNpyFolders(dir, subdirs, inputs);
    } else if (other.length > 0) {
      throw new Error(`${dir}: .npz archives and image folders are not supported by the ORT harness (found '${other[0].name}')`);
    } else {
      throw new Error(`${dir}: no input samples found (expected *.npy, <sample>/<input>.npy or test_data_set_N/input_K.pb)`);
    }
  }
  const total = samples.length;
  const shardCount = opts.shardCount || 1;
  const shardIndex = opts.shardIndex || 0;
  if (shardCount > 1) samples = samples.filter((_, i) => i % shardCount === shardIndex);
  if (opts.maxSamples > 0) samples = samples.slice(0, opts.maxSamples);
  return { layout, dir, total, samples };
}

// File-system-safe version of a tensor or sample name (same as the C++ tool's safe_name).
function safeName(s) {
  return s.replace(/[/:\\[\]]/g, '_');
}

module.exports = { openSamples, safeName, sanitizedName, parseTensorProto, addBatchDim, checkDecl };
