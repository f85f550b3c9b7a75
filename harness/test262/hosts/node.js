// jostle's test262 host for Node.js (worker_threads + SharedArrayBuffer).
//
//   node --expose-gc node.js TEST_FILE script|module [async]
//
// TEST_FILE is the compiled test (optional "use strict"; prologue, harness files, includes, the test).
// It runs as global code through vm.runInThisContext (never as a CommonJS module: top-level
// declarations must become globals and `this` must be the global object), or as an ES module.
//
// The agent plumbing is agent-core.js (shared memory; it says why). Broadcasts carry a SharedArrayBuffer,
// which only postMessage can hand over; the agents' event loops are free to receive it.
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
const CORE = fs.readFileSync(path.join(__dirname, "agent-core.js"), "utf8");

function makeCore(shared, who) {
  const base = shared.clockBase;
  const now = MUTANT === "clock-backwards" && who !== "main"
    ? () => performance.now()    // each thread's own clock: not the main thread's
    : () => Number(process.hrtime.bigint() - base) / 1e6;
  const make = vm.runInThisContext(CORE, { filename: "agent-core.js" });
  const core = make(shared.control, shared.mailbox, {
    who, now, mutant: MUTANT, chaos: process.env.JOSTLE_HOST_CHAOS || "",
    write: (line) => fs.writeSync(2, line + "\n"),
  });
  core.now = now;
  return core;
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
  const core = makeCore(data.shared, "agent" + data.index);
  const keepAlive = setInterval(() => {}, 1 << 30);  // a pending waitAsync alone keeps no worker alive
  let receiver = null;
  const inbox = [];

  process.on("uncaughtException", (error) => {
    core.setState(data.index, 4);
    core.trace("died", { error: errorRecord(error, "runtime") });
    clearInterval(keepAlive);
    wt.parentPort.close();
  });
  process.on("unhandledRejection", (error) => {
    core.trace("unhandled-rejection", { error: errorRecord(error, "runtime") });
  });

  function deliver(message) {
    core.acknowledge(data.index);
    core.trace("received", { num: String(message.num) });
    receiver(message.sab, message.num);
  }

  // Broadcasts arrive as messages (only postMessage can hand over a SharedArrayBuffer); the agent's own
  // event loop is free, and the acknowledgement the blocked main thread waits for is in shared memory.
  wt.parentPort.on("message", (message) => {
    if (receiver === null) inbox.push(message);
    else deliver(message);
  });

  globalThis.$262 = {
    global: globalThis,
    agent: {
      receiveBroadcast(fn) {
        receiver = fn;
        core.setState(data.index, 2);
        core.trace("receiveBroadcast");
        while (inbox.length) deliver(inbox.shift());
      },
      report: core.report,
      sleep: core.sleep,
      monotonicNow: core.now,
      leaving() {
        core.setState(data.index, 3);
        core.trace("leaving");
        clearInterval(keepAlive);
      },
    },
  };
  globalThis.print = (...args) => writeOut(args.join(" "));
  core.announceStarted(data.index);
  vm.runInThisContext(data.src, { filename: "agent" + data.index + ".js" });
}

// ---------------------------------------------------------------------------------------------
// Main side

function makeAgentApi(core, shared) {
  const agents = [];
  return {
    start(src) {
      if (agents.length >= core.C.MAX_AGENTS) {
        throw new RangeError(`$262.agent.start: at most ${core.C.MAX_AGENTS} agents`);
      }
      core.chaos("start");
      const index = agents.length;
      const before = Atomics.load(core.ctl, core.C.STARTED);
      const worker = new wt.Worker(__filename, {
        workerData: { jostleAgent: true, shared, index, src: String(src) },
      });
      worker.unref();   // an agent parked in an untimed wait must not keep the process alive
      agents.push(worker);
      core.trace("start", { agent: index });
      core.awaitStarted(before);
    },
    broadcast(sab, num) {
      core.chaos("broadcast");
      core.clearAcks();
      core.trace("broadcast", { agents: agents.length, num: String(num) });
      for (const worker of agents) worker.postMessage({ sab, num });
      core.awaitAcks(agents.length);
    },
    getReport: core.getReport,
    sleep: core.sleep,
    monotonicNow: core.now,
  };
}

function makeHost(context, core, shared) {
  // $262 for the realm whose global is `context` (the main realm passes globalThis).
  const isMain = context === globalThis;
  const host = {
    global: isMain ? globalThis : vm.runInContext("this", context),
    createRealm() {
      const fresh = vm.createContext({});
      const inner = makeHost(fresh, core, shared);
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
    agent: makeAgentApi(core, shared),
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
    control: new SharedArrayBuffer(64 * 4),
    mailbox: new SharedArrayBuffer((1 << 15) * 2),
    clockBase: process.hrtime.bigint(),
  };
  const core = makeCore(shared, "main");
  let keepAlive = asyncFlag === "async" ? setInterval(() => {}, 1 << 30) : null;
  globalThis.print = (...args) => {
    const text = args.map(String).join(" ");
    writeOut(text);
    if (keepAlive !== null && text.startsWith("Test262:Async")) { clearInterval(keepAlive); keepAlive = null; }
  };
  globalThis.$262 = makeHost(globalThis, core, shared);
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
