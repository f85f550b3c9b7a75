// The engine-neutral half of jostle's $262.agent hosts: control words, the report mailbox, sleep and the
// host-boundary chaos points, all over shared memory. Every jostle host evaluates this file once per
// thread (main and each agent) as an expression; it defines no global.
//
// Why shared memory: the main thread spends a test blocked (Atomics.wait, waitUntil's spin, getReport's
// sleep loop) and never runs an event loop, so reports and broadcast acknowledgements must be readable
// without one.
//
//   core = (this file)(controlSab, mailboxSab, {who, now, write, mutant, chaos})
//     who: "main" or "agentN"; now(): ms on one clock for every thread; write(line): stderr, synchronous;
//     mutant: "" or a host mutant's name; chaos: "p=..,actions=yield+spin+sleep,seed=N" or "";
//     mailboxOffset: bytes into mailboxSab where the ring starts (one buffer may hold both).
(function jostleAgentCore(controlSab, mailboxSab, options) {
  "use strict";
  var C = {
    SLEEP: 0,        // never notified: sleep is a timed wait on it
    STARTED: 1,      // agents running (start() blocks on it)
    ACKS: 2,         // agents that retrieved the current broadcast
    LOCK: 3,         // mailbox lock: 0 free, 1 held, 2 held with waiters
    HEAD: 4,         // mailbox read position (16-bit units, grows forever)
    TAIL: 5,         // mailbox write position
    COUNT: 6,        // reports pending
    GENERATION: 7,   // broadcasts sent (hosts that hand the message over through a slot)
    AGENT_STATE: 8,  // + agent index: 0 none, 1 running, 2 waiting for a broadcast, 3 left, 4 died
    NUM_KIND: 63,    // the broadcast number's type, for hosts that pass it through memory (1 = BigInt)
    WORDS: 64,
    RING: 1 << 15,
  };
  C.MAX_AGENTS = C.NUM_KIND - C.AGENT_STATE;
  var ctl = new Int32Array(controlSab, 0, C.WORDS);
  var ring = new Uint16Array(mailboxSab, options.mailboxOffset || 0, C.RING);
  var who = options.who;
  var mutant = options.mutant || "";

  var chaosP = 0, chaosActions = [], seed = 1;
  String(options.chaos || "").split(",").forEach(function (part) {
    var kv = part.split("=");
    if (kv[0] === "p") chaosP = Number(kv[1]);
    else if (kv[0] === "actions") chaosActions = kv[1].split("+");
    else if (kv[0] === "seed") seed = Number(kv[1]) >>> 0;
  });
  var index = who === "main" ? 0 : Number(who.slice(5)) + 1;
  var state = ((seed + Math.imul(index, 0x9e3779b1)) >>> 0) || 1;
  function random() {   // xorshift32: reproducible per thread from the run's seed
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    return state / 4294967296;
  }

  function trace(what, extra) {
    var record = { who: who, what: what, t: Math.round(options.now() * 1000) / 1000 };
    for (var k in extra || {}) record[k] = extra[k];
    try { options.write("jostle-trace " + JSON.stringify(record)); } catch (e) { /* stderr gone */ }
  }

  function sleep(ms) {
    ms = Number(ms);
    if (ms > 0) Atomics.wait(ctl, C.SLEEP, 0, ms);
  }

  function chaos(point) {
    if (!chaosP || !chaosActions.length || random() >= chaosP) return;
    var action = chaosActions[Math.floor(random() * chaosActions.length)];
    if (action === "sleep") {
      Atomics.wait(ctl, C.SLEEP, 0, Math.exp(random() * Math.log(20)) - 1);   // 0..19 ms, log-uniform
    } else if (action === "spin") {
      var end = options.now() + random() * 2;
      while (options.now() < end) { /* spin */ }
    } else {
      Atomics.wait(ctl, C.SLEEP, 0, 0);   // yield: into the kernel and out
    }
  }

  function lock() {
    var c = Atomics.compareExchange(ctl, C.LOCK, 0, 1);
    while (c !== 0) {
      if (c === 2 || Atomics.compareExchange(ctl, C.LOCK, 1, 2) !== 0) Atomics.wait(ctl, C.LOCK, 2);
      c = Atomics.compareExchange(ctl, C.LOCK, 0, 2);
    }
  }

  function unlock() {
    if (Atomics.sub(ctl, C.LOCK, 1) !== 1) {
      Atomics.store(ctl, C.LOCK, 0);
      Atomics.notify(ctl, C.LOCK, 1);
    }
  }

  function short(s) {
    return s.length > 80 ? s.slice(0, 80) + "..." : s;
  }

  function report(value) {
    var s = String(value);
    if (s.length + 1 > C.RING) throw new RangeError("$262.agent.report: message longer than " + (C.RING - 1));
    chaos("report");
    for (;;) {
      lock();
      var head = Atomics.load(ctl, C.HEAD), tail = Atomics.load(ctl, C.TAIL);
      if (C.RING - (tail - head) >= s.length + 1) {
        ring[tail % C.RING] = s.length;
        for (var i = 0; i < s.length; i++) ring[(tail + 1 + i) % C.RING] = s.charCodeAt(i);
        Atomics.store(ctl, C.TAIL, tail + 1 + s.length);
        Atomics.add(ctl, C.COUNT, 1);
        unlock();
        break;
      }
      unlock();
      sleep(1);   // full: the main thread drains it
    }
    trace("report", { value: short(s) });
  }

  // Non-blocking: the oldest pending report, or null.
  function getReport() {
    chaos("getReport");
    lock();
    var count = Atomics.load(ctl, C.COUNT);
    if (count === 0) {
      unlock();
      return null;
    }
    var head = Atomics.load(ctl, C.HEAD);
    var at = head;
    if (mutant === "reorder-reports" && count > 1) {
      for (var n = 0; n < count - 1; n++) at += 1 + ring[at % C.RING];   // the newest instead of the oldest
    }
    var len = ring[at % C.RING];
    var s = "";
    for (var i = 0; i < len; i++) s += String.fromCharCode(ring[(at + 1 + i) % C.RING]);
    if (at !== head) {
      // Close the gap: move the older reports up behind the one taken.
      var older = [];
      for (var p = head; p < at; p++) older.push(ring[p % C.RING]);
      for (var j = 0; j < older.length; j++) ring[(head + 1 + len + j) % C.RING] = older[j];
    }
    Atomics.store(ctl, C.HEAD, head + 1 + len);
    Atomics.sub(ctl, C.COUNT, 1);
    unlock();
    trace("getReport", { value: short(s) });
    return s;
  }

  function setState(agent, value) {
    Atomics.store(ctl, C.AGENT_STATE + agent, value);
  }

  function agentState(agent) {
    return Atomics.load(ctl, C.AGENT_STATE + agent);
  }

  // An agent's side of start(): it runs.
  function announceStarted(agent) {
    setState(agent, 1);
    trace("started");
    Atomics.add(ctl, C.STARTED, 1);
    Atomics.notify(ctl, C.STARTED);
  }

  // The main side of start(): block until one more agent runs than before.
  function awaitStarted(before) {
    for (;;) {
      var started = Atomics.load(ctl, C.STARTED);
      if (started > before) return;
      Atomics.wait(ctl, C.STARTED, started, 1000);
    }
  }

  // An agent's side of broadcast: it retrieved the message.
  function acknowledge(agent) {
    chaos("receive");
    if (mutant !== "broadcast-no-wait") {
      Atomics.add(ctl, C.ACKS, 1);
      Atomics.notify(ctl, C.ACKS);
    }
    setState(agent, 1);
  }

  // The main side of broadcast: block until `agents` acknowledged; an agent that died fails it.
  function awaitAcks(agents) {
    if (mutant === "broadcast-no-wait") return;
    for (;;) {
      var acks = Atomics.load(ctl, C.ACKS);
      if (acks >= agents) break;
      for (var a = 0; a < agents; a++) {
        if (agentState(a) === 4) {
          throw new Error("$262.agent.broadcast: agent " + a + " died before retrieving it (see its trace)");
        }
      }
      Atomics.wait(ctl, C.ACKS, acks, 100);
    }
    trace("broadcast-acked");
  }

  function clearAcks() {
    Atomics.store(ctl, C.ACKS, 0);
  }

  return {
    C: C, ctl: ctl, trace: trace, sleep: sleep, chaos: chaos, report: report, getReport: getReport,
    setState: setState, agentState: agentState, announceStarted: announceStarted, awaitStarted: awaitStarted,
    acknowledge: acknowledge, awaitAcks: awaitAcks, clearAcks: clearAcks,
  };
})
