// jostle's test262 host for Node.js (worker_threads + SharedArrayBuffer).
//
//   node --expose-gc node.js TEST_FILE script|module [async]
//
// TEST_FILE is the compiled test (optional "use strict"; prologue, harness files, includes, the test).
// It runs as global code through vm.runInThisContext (never as a CommonJS module: top-level
// declarations must become globals and `this` must be the global object), or as an ES module.
//
// Why the agent plumbing is all shared memory: the main thread spends the interesting part of a
// test blocked (Atomics.wait, $262.agent.waitUntil's spin, getReport's sleep loop), so it never runs
// its event loop; reports and broadcast acknowledgements must be readable without one. Broadcasts
// carry a SharedArrayBuffer, which only postMessage can hand over, but the agents' loops are free.
//
// Result lines on stdout (read by harness/test262/jostle_test262.py; docs/engines.md):
//   Test262:AsyncTestComplete / Test262:AsyncTestFailure:...   from $DONE through print
//   jostle-t262:error {"name":..,"message":..,"stack":..,"phase":"parse"|"runtime"|"resolution"}
// Trace lines on stderr, one per host event: `jostle-trace {"who":..,"what":..,"t":..}`; the harness
// keeps each agent's last one for a hang report.
"use strict";

const vm = require("vm");
const fs = require("fs");
const path = require("path");
const wt = require("worker_threads");

const MUTANT = process.env.JOSTLE_HOST_MUTANT || "";
const CHAOS = parseChaos(process.env.JOSTLE_HOST_CHAOS || "");

// Control words (Int32Array over a SharedArrayBuffer).
const SLEEP = 0;          // never notified: sleep is a timed wait on it
const STARTED = 1;        // agents that are running (start() blocks on it)
const ACKS = 2;           // agents that retrieved the current broadcast
const MBOX_LOCK = 3;      // 0 free, 1 held, 2 held with waiters
const MBOX_HEAD = 4;      // read position (in 16-bit units, monotone)
const MBOX_TAIL = 5;      // write position (in 16-bit units, monotone)
const MBOX_COUNT = 6;     // reports pending
const AGENT_STATE = 8;    // + agent index: 0 none, 1 running, 2 waiting for a broadcast, 3 left, 4 died
const CONTROL_WORDS = 64;
const MAX_AGENTS = CONTROL_WORDS - AGENT_STATE;
const MBOX_UNITS = 1 << 15;   // ring of UTF-16 units: [length, units...] per report

function parseChaos(spec) {
  const out = { p: 0, actions: [], seed: 1 };
  for (const part of spec.split(",").filter(Boolean)) {
    const [k, v] = part.split("=");
    if (k === "p") out.p = Number(v);
    else if (k === "actions") out.actions = v.split("+");
    else if (k === "seed") out.seed = Number(v) >>> 0;
  }
  return out;
}

function makeRng(seed) {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {   // xorshift32: seeded, reproducible per thread
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

// One host side per thread: the main thread and each agent build theirs from the same shared words.
function makeSide(shared, who) {
  const ctl = new Int32Array(shared.control);
  const ring = new Uint16Array(shared.mailbox);
  const base = shared.clockBase;
  const rng = makeRng(CHAOS.seed + (who === "main" ? 0 : 7919 * (Number(who.slice(5)) + 1)));
  let chaosHits = 0;

  function now() {
    if (MUTANT === "clock-backwards" && who !== "main") {
      return performance.now();   // each worker's clock starts at its own creation: behind main's
    }
    return Number(process.hrtime.bigint() - base) / 1e6;
  }

  function trace(what, extra) {
    const line = JSON.stringify(Object.assign({ who, what, t: Math.round(now() * 1000) / 1000 }, extra || {}));
    try { fs.writeSync(2, "jostle-trace " + line + "\n"); } catch (e) { /* stderr gone: nothing to tell */ }
  }

  function chaos(point) {
    if (!CHAOS.p || rng() >= CHAOS.p || !CHAOS.actions.length) return;
    chaosHits++;
    const action = CHAOS.actions[Math.floor(rng() * CHAOS.actions.length)];
    if (action === "sleep") Atomics.wait(ctl, SLEEP, 0, Math.exp(rng() * Math.log(20)) - 1);
    else if (action === "spin") { const end = now() + rng() * 2; while (now() < end) { /* spin */ } }
    else Atomics.wait(ctl, SLEEP, 0, 0);  // yield: a zero wait enters and leaves the kernel
  }

  function sleep(ms) {
    ms = Number(ms);
    if (ms > 0) Atomics.wait(ctl, SLEEP, 0, ms);
  }

  function lock() {
    let c = Atomics.compareExchange(ctl, MBOX_LOCK, 0, 1);
    while (c !== 0) {
      if (c === 2 || Atomics.compareExchange(ctl, MBOX_LOCK, 1, 2) !== 0) Atomics.wait(ctl, MBOX_LOCK, 2);
      c = Atomics.compareExchange(ctl, MBOX_LOCK, 0, 2);
    }
  }

  function unlock() {
    if (Atomics.sub(ctl, MBOX_LOCK, 1) !== 1) {
      Atomics.store(ctl, MBOX_LOCK, 0);
      Atomics.notify(ctl, MBOX_LOCK, 1);
    }
  }

  function report(value) {
    const s = String(value);
    chaos("report");
    for (;;) {
      lock();
      const head = Atomics.load(ctl, MBOX_HEAD), tail = Atomics.load(ctl, MBOX_TAIL);
      if (MBOX_UNITS - (tail - head) >= s.length + 1) {
        ring[tail % MBOX_UNITS] = s.length;
        for (let i = 0; i < s.length; i++) ring[(tail + 1 + i) % MBOX_UNITS] = s.charCodeAt(i);
        Atomics.store(ctl, MBOX_TAIL, tail + 1 + s.length);
        Atomics.add(ctl, MBOX_COUNT, 1);
        unlock();
        break;
      }
      unlock();
      if (s.length + 1 > MBOX_UNITS) throw new RangeError("$262.agent.report: message too long");
      sleep(1);  // the ring is full: the main thread drains it
    }
    trace("report", { value: s.length > 80 ? s.slice(0, 80) + "..." : s });
  }

  function popReport() {
    chaos("getReport");
    lock();
    let count = Atomics.load(ctl, MBOX_COUNT);
    if (count === 0) { unlock(); return null; }
    const head = Atomics.load(ctl, MBOX_HEAD);
    let at = head;
    if (MUTANT === "reorder-reports" && count > 1) {
      for (let i = 0; i < count - 1; i++) at += 1 + ring[at % MBOX_UNITS];  // the newest instead of the oldest
    }
    const len = ring[at % MBOX_UNITS];
    let s = "";
    for (let i = 0; i < len; i++) s += String.fromCharCode(ring[(at + 1 + i) % MBOX_UNITS]);
    if (at === head) {
      Atomics.store(ctl, MBOX_HEAD, head + 1 + len);
    } else {
      // Close the gap: move the older reports up behind the taken one.
      const older = [];
      for (let p = head; p < at; p++) older.push(ring[p % MBOX_UNITS]);
      const newHead = head + 1 + len;
      for (let i = 0; i < older.length; i++) ring[(newHead + i) % MBOX_UNITS] = older[i];
      Atomics.store(ctl, MBOX_HEAD, newHead);
    }
    Atomics.sub(ctl, MBOX_COUNT, 1);
    unlock();
    return s;
  }

  return { ctl, now, trace, chaos, sleep, report, popReport, hits: () => chaosHits };
}

function writeOut(text) {
  fs.writeSync(1, text + "\n");
}

function errorRecord(error, phase) {
  if (error !== null && (typeof error === "object" || typeof error === "function")) {
    let name, message, stack;
    try { name = String(error.constructor && error.constructor.name || error.name); } catch (e) { name = "?"; }
    try { message = String(error.message); } catch (e) { message = "?"; }
    try { stack = String(error.stack || ""); } catch (e) { stack = ""; }
    return { name, message, stack, phase };
  }
  let text;
  try { text = String(error); } catch (e) { text = "?"; }
  return { name: typeof error, message: text, stack: "", phase };
}

function reportError(error, phase) {
  writeOut("jostle-t262:error " + JSON.stringify(errorRecord(error, phase)));
}

// ---------------------------------------------------------------------------------------------
// Agent side

function runAgent() {
  const data = wt.workerData;
  const side = makeSide(data.shared, "agent" + data.index);
  const state = data.index + AGENT_STATE;
  const keepAlive = setInterval(() => {}, 1 << 30);  // a pending waitAsync alone keeps no worker alive
  let receiver = null;
  const inbox = [];

  process.on("uncaughtException", (error) => {
    Atomics.store(side.ctl, state, 4);
    side.trace("died", { error: errorRecord(error, "runtime") });
    clearInterval(keepAlive);
    wt.parentPort.close();
  });
  process.on("unhandledRejection", (error) => {
    side.trace("unhandled-rejection", { error: errorRecord(error, "runtime") });
  });

  function deliver(message) {
    side.chaos("receive");
    if (MUTANT !== "broadcast-no-wait") {
      Atomics.add(side.ctl, ACKS, 1);
      Atomics.notify(side.ctl, ACKS);
    }
    side.trace("received", { num: String(message.num) });
    Atomics.store(side.ctl, state, 1);
    receiver(message.sab, message.num);
  }

  wt.parentPort.on("message", (message) => {
    if (receiver === null) inbox.push(message);
    else deliver(message);
  });

  globalThis.$262 = {
    global: globalThis,
    agent: {
      receiveBroadcast(fn) {
        receiver = fn;
        Atomics.store(side.ctl, state, 2);
        side.trace("receiveBroadcast");
        while (inbox.length) deliver(inbox.shift());
      },
      report: side.report,
      sleep: side.sleep,
      monotonicNow: side.now,
      leaving() {
        Atomics.store(side.ctl, state, 3);
        side.trace("leaving");
        clearInterval(keepAlive);
      },
    },
  };
  globalThis.print = (...args) => writeOut(args.join(" "));
  Atomics.store(side.ctl, state, 1);
  side.trace("started");
  Atomics.add(side.ctl, STARTED, 1);
  Atomics.notify(side.ctl, STARTED);
  vm.runInThisContext(data.src, { filename: "agent" + data.index + ".js" });
}

// ---------------------------------------------------------------------------------------------
// Main side

function makeAgentApi(side, shared) {
  const agents = [];
  return {
    start(src) {
      if (agents.length >= MAX_AGENTS) throw new RangeError(`$262.agent.start: at most ${MAX_AGENTS} agents`);
      side.chaos("start");
      const index = agents.length;
      const before = Atomics.load(side.ctl, STARTED);
      const worker = new wt.Worker(__filename, {
        workerData: { jostleAgent: true, shared, index, src: String(src) },
        stderr: false, stdout: false,
      });
      worker.unref();
      agents.push(worker);
      side.trace("start", { agent: index });
      for (;;) {   // blocks until the agent runs
        const started = Atomics.load(side.ctl, STARTED);
        if (started > before) break;
        Atomics.wait(side.ctl, STARTED, started, 1000);
      }
    },
    broadcast(sab, num) {
      side.chaos("broadcast");
      Atomics.store(side.ctl, ACKS, 0);
      side.trace("broadcast", { agents: agents.length, num: String(num) });
      for (const worker of agents) worker.postMessage({ sab, num });
      if (MUTANT === "broadcast-no-wait") return;
      for (;;) {   // blocks until every agent retrieved it
        const acks = Atomics.load(side.ctl, ACKS);
        if (acks >= agents.length) break;
        const dead = agents.findIndex((_, i) => Atomics.load(side.ctl, AGENT_STATE + i) === 4);
        if (dead >= 0) throw new Error(`$262.agent.broadcast: agent ${dead} died before receiving it (see its trace)`);
        Atomics.wait(side.ctl, ACKS, acks, 100);
      }
      side.trace("broadcast-acked");
    },
    getReport() {
      const r = side.popReport();
      if (r !== null) side.trace("getReport", { value: r.length > 80 ? r.slice(0, 80) + "..." : r });
      return r;
    },
    sleep: side.sleep,
    monotonicNow: side.now,
  };
}

function makeHost(context, side, shared) {
  // $262 for the realm whose global is `context` (the main realm passes globalThis).
  const isMain = context === globalThis;
  const host = {
    global: isMain ? globalThis : vm.runInContext("this", context),
    createRealm() {
      const fresh = vm.createContext({});
      const inner = makeHost(fresh, side, shared);
      vm.runInContext("this", fresh).$262 = inner;
      vm.runInContext("this", fresh).print = globalThis.print;
      return inner;
    },
    evalScript(src) {
      return isMain ? vm.runInThisContext(String(src)) : vm.runInContext(String(src), context);
    },
    detachArrayBuffer(buffer) {
      structuredClone(buffer, { transfer: [buffer] });
      return null;
    },
    gc() {
      if (typeof globalThis.gc !== "function") throw new Error("$262.gc: run node with --expose-gc");
      globalThis.gc();
    },
    agent: makeAgentApi(side, shared),
  };
  return host;
}

async function runMain() {
  const [file, kind, asyncFlag] = process.argv.slice(2);
  if (!file || !["script", "module"].includes(kind)) {
    process.stderr.write("usage: node node.js TEST_FILE script|module [async]\n");
    process.exit(2);
  }
  const shared = {
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    mailbox: new SharedArrayBuffer(MBOX_UNITS * 2),
    clockBase: process.hrtime.bigint(),
  };
  const side = makeSide(shared, "main");
  let keepAlive = asyncFlag === "async" ? setInterval(() => {}, 1 << 30) : null;
  globalThis.print = (...args) => {
    const text = args.map(String).join(" ");
    writeOut(text);
    if (keepAlive !== null && text.startsWith("Test262:Async")) { clearInterval(keepAlive); keepAlive = null; }
  };
  globalThis.$262 = makeHost(globalThis, side, shared);
  process.on("uncaughtException", (error) => { reportError(error, "runtime"); process.exit(1); });
  process.on("unhandledRejection", (error) => { reportError(error, "runtime"); process.exit(1); });

  const source = fs.readFileSync(file, "utf8");
  if (kind === "module") {
    let mod;
    try {
      // Evaluated through the native loader: link errors are "resolution", syntax errors "parse".
      mod = await import(require("url").pathToFileURL(path.resolve(file)).href);
    } catch (error) {
      const phase = error instanceof SyntaxError && !/import|export|module/i.test(String(error.message))
        ? "parse" : (error instanceof SyntaxError ? "resolution" : "runtime");
      reportError(error, phase);
      process.exit(1);
    }
    return mod;
  }
  let script;
  try {
    script = new vm.Script(source, { filename: path.basename(file) });
  } catch (error) {
    reportError(error, "parse");
    process.exit(1);
  }
  try {
    script.runInThisContext();
  } catch (error) {
    reportError(error, "runtime");
    process.exit(1);
  }
}

if (!wt.isMainThread && wt.workerData && wt.workerData.jostleAgent) {
  runAgent();
} else {
  runMain();
}
