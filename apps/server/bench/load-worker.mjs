// Plain JavaScript on purpose: worker threads do not inherit tsx's loader on Node 20.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** Closed-loop load: `concurrency` keep-alive clients each send the next request on an answer. */
async function generateLoad({ url, headers, concurrency, durationMs, method = 'GET', body }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const once = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(url, { agent, headers, method }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latenciesMs.push(performance.now() - t0);
          else errors += 1;
          resolve();
        });
      });
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  agent.destroy();
  return {
    requests: latenciesMs.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    latenciesMs,
  };
}

generateLoad(workerData).then((result) => parentPort.postMessage(result));
