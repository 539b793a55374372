/**
 * `node --experimental-websocket bench/forceGc.mjs <inspector WebSocket URL>`: two full garbage
 * collections in the process behind that inspector (started with --expose-gc), then exits. The
 * benchmark's P10 reads memory right after.
 */
const [url] = process.argv.slice(2);
const ws = new WebSocket(url);
ws.onopen = () =>
  ws.send(JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression: "gc(); gc(); true" } }));
ws.onmessage = (e) => {
  const answer = JSON.parse(String(e.data));
  if (answer.id !== 1) return;
  ws.close();
  if (answer.result?.result?.value !== true) {
    process.stderr.write(`gc() was not run: ${String(e.data)}\n`);
    process.exitCode = 1;
  }
};
ws.onerror = (e) => {
  process.stderr.write(`inspector: ${e.message ?? e}\n`);
  process.exit(1);
};
