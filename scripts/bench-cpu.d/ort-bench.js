// ONNX Runtime side of scripts/bench-cpu: loads DIR/model.onnx with the
// default CPU execution provider (all graph optimizations), feeds it
// DIR/test_data_set_0/input_K.pb (the K-th graph input, as cann bench
// --input-dir does), runs WARMUP untimed and ITERATIONS timed inferences
// one after another, and prints one JSON object with the keys of
// cann bench --format json.
//
//   node ort-bench.js DIR THREADS WARMUP ITERATIONS
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

// readVarint reads a protobuf varint at buf[pos] as a BigInt.
function readVarint(buf, st) {
  let v = 0n, shift = 0n;
  for (;;) {
    const b = buf[st.pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return v;
    shift += 7n;
  }
}

// readTensor decodes a serialized TensorProto: dims, data_type and the data
// in raw_data or in the typed repeated fields (packed or not).
function readTensor(buf) {
  const st = { pos: 0 };
  const dims = [];
  let dtype = 0, raw = null;
  const floats = [], ints = [], doubles = [];
  while (st.pos < buf.length) {
    const key = Number(readVarint(buf, st));
    const field = key >> 3, wire = key & 7;
    let body = null;
    if (wire === 2) {
      const n = Number(readVarint(buf, st));
      body = buf.subarray(st.pos, st.pos + n);
      st.pos += n;
    }
    const packedVarints = (arr) => {
      const s = { pos: 0 };
      while (s.pos < body.length) arr.push(readVarint(body, s));
    };
    switch (field) {
      case 1: if (wire === 0) dims.push(Number(readVarint(buf, st))); else { const d = []; packedVarints(d); dims.push(...d.map(Number)); } break;
      case 2: dtype = Number(readVarint(buf, st)); break;
      case 4: if (wire === 5) { floats.push(buf.readFloatLE(st.pos)); st.pos += 4; } else for (let i = 0; i < body.length; i += 4) floats.push(body.readFloatLE(i)); break;
      case 5: case 7: if (wire === 0) ints.push(readVarint(buf, st)); else packedVarints(ints); break;
      case 9: raw = Buffer.from(body); break;
      case 10: if (wire === 1) { doubles.push(buf.readDoubleLE(st.pos)); st.pos += 8; } else for (let i = 0; i < body.length; i += 8) doubles.push(body.readDoubleLE(i)); break;
      default:
        if (wire === 0) readVarint(buf, st);
        else if (wire === 1) st.pos += 8;
        else if (wire === 5) st.pos += 4;
        else if (wire !== 2) throw new Error(`TensorProto: wire type ${wire}`);
    }
  }
  const n = dims.reduce((a, b) => a * b, 1);
  const typed = {
    1: ['float32', Float32Array, floats.length ? floats : null],
    6: ['int32', Int32Array, ints.length ? ints.map(Number) : null],
    7: ['int64', BigInt64Array, ints.length ? ints.map(v => BigInt.asIntN(64, v)) : null],
    9: ['bool', Uint8Array, ints.length ? ints.map(Number) : null],
    11: ['float64', Float64Array, doubles.length ? doubles : null],
  }[dtype];
  if (!typed) throw new Error(`TensorProto: data type ${dtype} not handled`);
  const [name, Arr, vals] = typed;
  let data;
  if (raw) data = new Arr(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  else data = Arr.from(vals || []);
  if (data.length !== n) throw new Error(`TensorProto: ${data.length} values for dims ${dims}`);
  return new ort.Tensor(name, data, dims);
}

async function main() {
  const [dir, threads, warmup, iterations] = process.argv.slice(2);
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const loadMS = performance.now() - t0;
  const feeds = {};
  sess.inputNames.forEach((name, k) => {
    feeds[name] = readTensor(fs.readFileSync(path.join(dir, 'test_data_set_0', `input_${k}.pb`)));
  });
  for (let i = 0; i < Number(warmup); i++) await sess.run(feeds);
  const lat = [];
  for (let i = 0; i < Number(iterations); i++) {
    const t = performance.now();
    await sess.run(feeds);
    lat.push(performance.now() - t);
  }
  const sum = lat.reduce((a, b) => a + b, 0);
  lat.sort((a, b) => a - b);
  const pct = (p) => {
    const x = p / 100 * (lat.length - 1), i = Math.floor(x);
    return i >= lat.length - 1 ? lat[lat.length - 1] : lat[i] + (x - i) * (lat[i + 1] - lat[i]);
  };
  console.log(JSON.stringify({
    model: path.join(dir, 'model.onnx'), device: 'cpu', threads: Number(threads),
    warmup: Number(warmup), iterations: lat.length, load_ms: loadMS,
    p50_ms: pct(50), p90_ms: pct(90), p99_ms: pct(99), mean_ms: sum / lat.length,
    min_ms: lat[0], max_ms: lat[lat.length - 1], throughput: 1000 * lat.length / sum,
    version: require('onnxruntime-node/package.json').version,
  }));
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
