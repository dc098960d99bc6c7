'use strict';
// Minimal NumPy .npy reader/writer (format versions 1.0, 2.0 and 3.0, C order, little-endian).
// Arrays are {dtype, shape, data}: dtype uses ONNX Runtime's tensor type names ('float32', 'int64',
// 'bool', ...), shape is an array of Numbers, data the matching TypedArray (BigInt64Array for
// int64, Uint8Array for bool), so an array plugs straight into `new ort.Tensor(dtype, data, shape)`.
// Every error names the file. A header whose shape disagrees with the file size is refused, so a
// lying header never causes a large allocation.
const fs = require('fs');
const path = require('path');

// descr code (without byte order) -> [ORT type name, item size, TypedArray]
const CODES = {
  f2: ['float16', 2, Uint16Array],
  f4: ['float32', 4, Float32Array],
  f8: ['float64', 8, Float64Array],
  i1: ['int8', 1, Int8Array],
  i2: ['int16', 2, Int16Array],
  i4: ['int32', 4, Int32Array],
  i8: ['int64', 8, BigInt64Array],
  u1: ['uint8', 1, Uint8Array],
  u2: ['uint16', 2, Uint16Array],
  u4: ['uint32', 4, Uint32Array],
  u8: ['uint64', 8, BigUint64Array],
  b1: ['bool', 1, Uint8Array],
};
const BY_DTYPE = {};
for (const [code, [dtype, size, ctor]] of Object.entries(CODES)) BY_DTYPE[dtype] = { code, size, ctor };

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function npyError(what, msg) {
  const e = new Error(`${what}: ${msg}`);
  e.file = what;
  return e;
}

function itemSize(dtype) {
  const d = BY_DTYPE[dtype];
  if (!d) throw new Error(`unsupported dtype '${dtype}'`);
  return d.size;
}

function numel(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// Parses the Python dict literal of a header: {'descr': '<f4', 'fortran_order': False, 'shape': (1, 10), }
function parseDict(text, what) {
  const m = (re, name) => {
    const r = re.exec(text);
    if (!r) throw npyError(what, `malformed .npy header (no '${name}'): ${text.trim()}`);
    return r;
  };
  if (/['"]descr['"]\s*:\s*\[/.test(text)) throw npyError(what, 'structured (record) dtypes are not supported');
  const descr = m(/['"]descr['"]\s*:\s*['"]([^'"]*)['"]/, 'descr')[1];
  const fortran = m(/['"]fortran_order['"]\s*:\s*(True|False)/, 'fortran_order')[1] === 'True';
  const tuple = m(/['"]shape['"]\s*:\s*\(([^)]*)\)/, 'shape')[1];
  const shape = tuple
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw npyError(what, `malformed shape in .npy header: (${tuple})`);
      const v = Number(s.replace('L', ''));
      if (!Number.isSafeInteger(v)) throw npyError(what, `dimension too large in .npy header: ${s}`);
      return v;
    });
  return { descr, fortran, shape };
}

function dtypeFromDescr(descr, what) {
  if (descr.length === 3) {
    const order = descr[0];
    const entry = CODES[descr.slice(1)];
    if (entry) {
      const oneByte = entry[1] === 1;
      if (order === '>' && !oneByte) throw npyError(what, `big-endian .npy data ('${descr}') is not supported; save it little-endian`);
      if (order === '<' || order === '|' || order === '=' || order === '>') return entry[0];
    }
  }
  throw npyError(what, `unsupported .npy dtype '${descr}' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, little-endian)`);
}

// Parses the header at the start of `buf` (the rest of the file need not be present); `totalSize`
// is the size of the whole file, which the data must fill exactly.
function parseHeader(buf, totalSize, what) {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw npyError(what, 'not an .npy file (bad magic)');
  const major = buf[6];
  if (major < 1 || major > 3) throw npyError(what, `unsupported .npy format version ${major}.${buf[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) throw npyError(what, 'truncated .npy header');
  const hlen = lenBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const dataOffset = 8 + lenBytes + hlen;
  if (dataOffset > totalSize) throw npyError(what, 'truncated .npy header');
  if (buf.length < dataOffset) return { needMore: dataOffset };
  const text = buf.subarray(8 + lenBytes, dataOffset).toString(major === 3 ? 'utf8' : 'latin1');
  const { descr, fortran, shape } = parseDict(text, what);
  if (fortran) throw npyError(what, 'Fortran-order .npy arrays are not supported; save a C-contiguous array');
  const dtype = dtypeFromDescr(descr, what);
  const dataBytes = numel(shape) * itemSize(dtype);
  if (dataOffset + dataBytes !== totalSize)
    throw npyError(what, `.npy data size mismatch: header shape [${shape}] of ${dtype} needs ${dataBytes} bytes, file holds ${totalSize - dataOffset}`);
  return { dtype, shape, dataOffset, dataBytes };
}

// Reads into a fresh ArrayBuffer (so typed arrays over it are aligned); returns a Uint8Array view.
function readExact(fd, length, position, what) {
  const buf = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw npyError(what, 'unexpected end of file');
    done += n;
  }
  return buf;
}

function withFd(file, fn) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw npyError(file, `cannot open: ${e.code || e.message}`);
  }
  try {
    return fn(fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

function readInfoFd(fd, size, file) {
  const head = Buffer.from(readExact(fd, Math.min(size, 4096), 0, file).buffer);
  let info = parseHeader(head, size, file);
  if (info.needMore) info = parseHeader(Buffer.from(readExact(fd, info.needMore, 0, file).buffer), size, file);
  return info;
}

// Header only: {dtype, shape, dataOffset, dataBytes}.
function readNpyInfo(file) {
  return withFd(file, (fd, size) => readInfoFd(fd, size, file));
}

// `bytes` is a Uint8Array from readExact, i.e. a whole ArrayBuffer.
function makeArray(dtype, bytes) {
  const { ctor, size } = BY_DTYPE[dtype];
  const data = new ctor(bytes.buffer, 0, bytes.length / size);
  if (dtype === 'bool') for (let i = 0; i < data.length; ++i) data[i] = data[i] !== 0 ? 1 : 0;
  return data;
}

// Row reads of batch files come in long runs over one file: keep that file open (one at a time).
let rowFile = null;
let rowFd = -1;
function cachedFd(file) {
  if (rowFile !== file) {
    closeCachedFd();
    try {
      rowFd = fs.openSync(file, 'r');
    } catch (e) {
      throw npyError(file, `cannot open: ${e.code || e.message}`);
    }
    rowFile = file;
  }
  return rowFd;
}
function closeCachedFd() {
  if (rowFile !== null) fs.closeSync(rowFd);
  rowFile = null;
  rowFd = -1;
}

// Rows [begin, begin+count) along axis 0, reading only those bytes: {dtype, shape:[count,...], data}.
function readNpyRows(file, info, begin, count) {
  if (info.shape.length === 0) throw npyError(file, 'cannot read rows of a rank-0 array');
  if (begin < 0 || count < 0 || begin + count > info.shape[0])
    throw npyError(file, `rows [${begin}, ${begin + count}) out of range (${info.shape[0]} rows)`);
  const rowBytes = numel(info.shape.slice(1)) * itemSize(info.dtype);
  const bytes = readExact(cachedFd(file), rowBytes * count, info.dataOffset + rowBytes * begin, file);
  return { dtype: info.dtype, shape: [count, ...info.shape.slice(1)], data: makeArray(info.dtype, bytes) };
}

// Whole file.
function readNpy(file) {
  return withFd(file, (fd, size) => {
    const info = readInfoFd(fd, size, file);
    const bytes = readExact(fd, info.dataBytes, info.dataOffset, file);
    return { dtype: info.dtype, shape: info.shape, data: makeArray(info.dtype, bytes) };
  });
}

// Serializes as format 1.0 (2.0 if the header does not fit), header padded to a multiple of 64.
function npyBytes(arr) {
  const d = BY_DTYPE[arr.dtype];
  if (!d) throw new Error(`cannot store dtype '${arr.dtype}' as .npy`);
  const shape = arr.shape.map(Number);
  const n = numel(shape);
  if (arr.data.length !== n) throw new Error(`.npy: data has ${arr.data.length} elements, shape [${shape}] needs ${n}`);
  const order = d.size === 1 ? '|' : '<';
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${order}${d.code}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let major = 1;
  let pre = 10;
  if (dict.length + 1 + pre > 65535) {
    major = 2;
    pre = 12;
  }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = Buffer.alloc(total + n * d.size);
  MAGIC.copy(out, 0);
  out[6] = major;
  out[7] = 0;
  if (major === 1) out.writeUInt16LE(header.length, 8);
  else out.writeUInt32LE(header.length, 8);
  out.write(header, pre, 'latin1');
  let data = arr.data;
  if (!(data instanceof d.ctor)) {
    // e.g. plain arrays, or bool data given as another integer array
    const big = d.ctor === BigInt64Array || d.ctor === BigUint64Array;
    data = d.ctor.from(data, big ? (v) => BigInt(v) : (v) => Number(v));
  }
  Buffer.from(data.buffer, data.byteOffset, n * d.size).copy(out, total);
  return out;
}

// Writes atomically (temporary file + rename).
function writeNpy(file, arr) {
  const bytes = npyBytes(arr);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch (_) { /* ignore */ }
    throw npyError(file, `cannot write: ${e.code || e.message}`);
  }
}

module.exports = { parseHeader, readNpyInfo, readNpyRows, closeCachedFd, readNpy, npyBytes, writeNpy, itemSize, numel, DTYPES: Object.keys(BY_DTYPE) };
