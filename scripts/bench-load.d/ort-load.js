// Times ONNX Runtime's session creation from an ONNX file: the median of
// RUNS calls of InferenceSession.create (default options: every graph
// optimization, CPU execution provider) after one warm-up, each session
// released before the next. Usage: node ort-load.js MODEL.onnx RUNS THREADS
// (run with NODE_PATH pointing at the node_modules holding onnxruntime-node).
const ort = require('onnxruntime-node');

async function main() {
  const [path, runsArg, threadsArg] = process.argv.slice(2);
  const runs = parseInt(runsArg || '5', 10);
  const opts = { intraOpNumThreads: parseInt(threadsArg || '2', 10), interOpNumThreads: 1 };
  (await ort.InferenceSession.create(path, opts)).release();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const s = await ort.InferenceSession.create(path, opts);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await s.release();
  }
  times.sort((a, b) => a - b);
  console.log(`ort_create_ms ${times[Math.floor((times.length - 1) / 2)].toFixed(2)}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
