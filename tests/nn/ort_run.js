#!/usr/bin/env node
// The numerical reference: runs an ONNX model with ONNX Runtime (npm onnxruntime-node, a
// test dependency only) on .npy inputs and writes one .npy per output.
//
//   node tests/nn/ort_run.js MODEL --input NAME=FILE.npy... --output DIR [--threads N]
//   node tests/nn/ort_run.js MODEL --input ... --serve [--threads N]
//
// --serve is for bench/nn_vs_ort.sh: after loading, each line "run" on stdin runs the model
// once and answers "ms <milliseconds>"; at end of input it prints "rss <peak bytes>".
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const refDir = process.env.ARTISTRY_REFERENCE ||
    path.join(__dirname, '..', '..', '.cache', 'reference', 'node_modules');
const ort = require(path.join(refDir, 'onnxruntime-node'));

const DTYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '<u2': ['uint16', Uint16Array],
  '<u4': ['uint32', Uint32Array], '<u8': ['uint64', BigUint64Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hoff = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hoff, hoff + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim())
      .filter(s => s.length).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const t = DTYPES[descr];
  if (!t) throw new Error(`${file}: unsupported dtype ${descr}`);
  const off = hoff + hlen;
  const bytes = buf.subarray(off);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const data = new t[1](copy.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT);
  return new ort.Tensor(t[0], t[0] === 'bool' ? Uint8Array.from(data) : data, shape);
}

function writeNpy(file, tensor) {
  const entry = Object.entries(DTYPES).find(([, v]) => v[0] === tensor.type);
  if (!entry) throw new Error(`cannot write ${tensor.type}`);
  const dims = tensor.dims.length === 1 ? `${tensor.dims[0]},` : tensor.dims.join(', ');
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - total % 64) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = tensor.type === 'bool' ? Uint8Array.from(tensor.data, b => (b ? 1 : 0)) : tensor.data;
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function peakRss() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, out = null, threads = 2, serve = false;
  const feeds = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--input') {
      const [name, file] = args[++i].split(/=(.*)/s);
      feeds[name] = readNpy(file);
    } else if (a === '--output') out = args[++i];
    else if (a === '--threads') threads = Number(args[++i]);
    else if (a === '--serve') serve = true;
    else if (!model) model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!model || (!out && !serve)) {
    console.error('usage: ort_run.js MODEL --input NAME=FILE.npy... (--output DIR | --serve) [--threads N]');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  if (serve) {
    const rl = readline.createInterface({input: process.stdin});
    console.log('ready');
    for await (const line of rl) {
      if (line.trim() !== 'run') continue;
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      console.log(`ms ${ms.toFixed(3)}`);
    }
    console.log(`rss ${peakRss()}`);
    return;
  }
  const result = await session.run(feeds);
  fs.mkdirSync(out, {recursive: true});
  for (const name of session.outputNames) {
    const file = path.join(out, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy');
    writeNpy(file, result[name]);
    console.log(`${name} ${result[name].type} ${result[name].dims.join('x')} -> ${file}`);
  }
}

main().catch(err => {
  console.error(`ort_run.js: ${err.message}`);
  process.exit(1);
});
