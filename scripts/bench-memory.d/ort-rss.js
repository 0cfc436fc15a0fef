// Runs one inference of MODEL_DIR/model.onnx with ONNX Runtime (npm
// onnxruntime-node) on the inputs of MODEL_DIR/test_data_set_0 and prints
// Node's resident size just before the session is created ("baseline_kb"),
// so that scripts/bench-memory can subtract it from the process's peak
// resident size, which /usr/bin/time reports.
//
//   node ort-rss.js MODEL_DIR THREADS
const path = require('path');
const fs = require('fs');
const ort = require(path.join(process.env.ORT_DIR || '/tmp/ort', 'node_modules', 'onnxruntime-node'));

// readTensor decodes an ONNX TensorProto file: dims (1), data_type (2),
// float_data (4), int32_data (5), int64_data (7), raw_data (9).
function readTensor(file) {
  const b = fs.readFileSync(file);
  let i = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      const c = b[i++];
      v |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return v;
      shift += 7n;
    }
  };
  const dims = []; let type = 0; let raw = null; const floats = []; const ints = [];
  while (i < b.length) {
    const key = Number(varint()); const field = key >> 3; const wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 1) dims.push(Number(v)); else if (field === 2) type = Number(v);
      else if (field === 5 || field === 7) ints.push(BigInt.asIntN(64, v));
    } else if (wire === 2) {
      const n = Number(varint()); const body = b.subarray(i, i + n); i += n;
      if (field === 9) raw = body;
      else if (field === 1 || field === 5 || field === 7) {
        let j = i - n; const end = i; const save = i; i = j;
        while (i < end) { const v = varint(); if (field === 1) dims.push(Number(v)); else ints.push(BigInt.asIntN(64, v)); }
        i = save;
      } else if (field === 4) for (let k = 0; k < n; k += 4) floats.push(body.readFloatLE(k));
    } else if (wire === 5) { if (field === 4) floats.push(b.readFloatLE(i)); i += 4; }
    else if (wire === 1) i += 8;
    else throw new Error(`${file}: wire type ${wire}`);
  }
  const count = dims.reduce((a, d) => a * d, 1);
  const copy = (Arr, size) => raw ? new Arr(raw.buffer.slice(raw.byteOffset, raw.byteOffset + count * size)) : null;
  switch (type) {
    case 1: return new ort.Tensor('float32', copy(Float32Array, 4) || Float32Array.from(floats), dims);
    case 6: return new ort.Tensor('int32', copy(Int32Array, 4) || Int32Array.from(ints.map(Number)), dims);
    case 7: return new ort.Tensor('int64', copy(BigInt64Array, 8) || BigInt64Array.from(ints), dims);
    case 9: return new ort.Tensor('bool', raw ? Uint8Array.from(raw) : Uint8Array.from(ints.map(Number)), dims);
    default: throw new Error(`${file}: data type ${type}`);
  }
}

(async () => {
  const [dir, threads] = process.argv.slice(2);
  const baseline = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'),
    { intraOpNumThreads: Number(threads || 2), interOpNumThreads: 1 });
  const feeds = {};
  session.inputNames.forEach((name, k) => { feeds[name] = readTensor(path.join(dir, 'test_data_set_0', `input_${k}.pb`)); });
  await session.run(feeds);
  console.log(`baseline_kb ${Math.round(baseline / 1024)}`);
})().catch((e) => { console.error(e); process.exit(1); });
