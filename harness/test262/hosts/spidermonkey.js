// jostle's test262 host for the SpiderMonkey shell (Debian's js102).
//
//   js102 spidermonkey.js TEST_FILE script|module [async]
//
// Agents are shell workers (evalInWorker). The shell hands one object at a time to workers through
// setSharedObject/getSharedObject; everything else (reports, acknowledgements, agent states, the
// broadcast number) lives in one SharedArrayBuffer through agent-core.js.
//
// Output: every line jostle reads goes to stderr, which is unbuffered (stdout is lost when the shell
// is killed): print, `jostle-t262:error {...}`, trace lines, and `jostle-t262:done` once the test and
// its jobs finished. The shell joins its workers before exiting, so an agent left in an untimed wait
// keeps the process alive; the harness reads the done line and kills it after a grace period.
(function (global) {
  "use strict";
  var args = global.scriptArgs;
  var file = args[0], kind = args[1], isAsync = args[2] === "async";
  var getEnv = global.os.getenv;
  var MUTANT = getEnv("JOSTLE_HOST_MUTANT") || "";
  var CHAOS = getEnv("JOSTLE_HOST_CHAOS") || "";
  var CORE_SOURCE = global.os.file.readRelativeToScript("agent-core.js");
  var CONTROL_BYTES = 64 * 4, NUM_BYTES = 16, RING_BYTES = (1 << 15) * 2;
  var printErr = global.printErr;
  var evaluate = global.evaluate;

  function line(text) {
    printErr(text);
  }

  function errorRecord(error, phase) {
    if (error !== null && (typeof error === "object" || typeof error === "function")) {
      var name, message, stack;
      try { name = String(error.constructor && error.constructor.name || error.name); } catch (e) { name = "?"; }
      try { message = String(error.message); } catch (e) { message = "?"; }
      try { stack = String(error.stack || ""); } catch (e) { stack = ""; }
      return { name: name, message: message, stack: stack, phase: phase };
    }
    var text;
    try { text = String(error); } catch (e) { text = "?"; }
    return { name: typeof error, message: text, stack: "", phase: phase };
  }

  // The agent's bootstrap runs inside a worker (its own runtime and global).
  function agentBootstrap(coreSource, index, layout, mutant, chaos, src) {
    var g = this;
    var shared = g.getSharedObject();
    var now = mutant === "clock-backwards" ? g.timeSinceCreation : g.monotonicNow;
    var core = g.evaluate(coreSource)(shared, shared, {
      who: "agent" + index, now: now, mutant: mutant, chaos: chaos, mailboxOffset: layout.ring,
      write: function (text) { g.printErr(text); },
    });
    var f64 = new Float64Array(shared, layout.num, 1);
    var i64 = new BigInt64Array(shared, layout.num + 8, 1);
    var seen = 0;
    g.$262 = {
      global: g,
      agent: {
        receiveBroadcast: function (fn) {
          core.setState(index, 2);
          core.trace("receiveBroadcast");
          // The SpiderMonkey way: spin here until a broadcast comes (nothing may follow this call).
          var generation;
          while ((generation = Atomics.load(core.ctl, core.C.GENERATION)) === seen) {
            Atomics.wait(core.ctl, core.C.GENERATION, generation, 1000);
          }
          seen = generation;
          var sab = g.getSharedObject();
          var num = Atomics.load(core.ctl, core.C.NUM_KIND) === 1 ? i64[0] : f64[0];
          core.acknowledge(index);
          core.trace("received", { num: String(num) });
          fn(sab, num);
        },
        report: core.report,
        sleep: core.sleep,
        monotonicNow: now,
        leaving: function () {
          core.setState(index, 3);
          core.trace("leaving");
        },
      },
    };
    g.print = function () { g.printErr(Array.prototype.join.call(arguments, " ")); };
    core.announceStarted(index);
    try {
      g.evaluate(src, { fileName: "agent" + index + ".js" });
      g.drainJobQueue();
    } catch (error) {
      core.setState(index, 4);
      core.trace("died", { error: { name: String(error && error.name), message: String(error && error.message) } });
    }
  }

  function main() {
    var shared = new SharedArrayBuffer(CONTROL_BYTES + NUM_BYTES + RING_BYTES);
    var layout = { num: CONTROL_BYTES, ring: CONTROL_BYTES + NUM_BYTES };
    var core = evaluate(CORE_SOURCE)(shared, shared, {
      who: "main", now: global.monotonicNow, mutant: MUTANT, chaos: CHAOS, mailboxOffset: layout.ring,
      write: line,
    });
    var f64 = new Float64Array(shared, layout.num, 1);
    var i64 = new BigInt64Array(shared, layout.num + 8, 1);
    var agents = 0;

    var agent = {
      start: function (src) {
        if (agents >= core.C.MAX_AGENTS) throw new RangeError("$262.agent.start: at most " + core.C.MAX_AGENTS + " agents");
        core.chaos("start");
        var index = agents++;
        var before = Atomics.load(core.ctl, core.C.STARTED);
        global.setSharedObject(shared);   // the agent picks the control buffer up before it says it runs
        core.trace("start", { agent: index });
        global.evalInWorker("(" + agentBootstrap + ").call(this, " + JSON.stringify(CORE_SOURCE) + ", " + index +
          ", " + JSON.stringify(layout) + ", " + JSON.stringify(MUTANT) + ", " + JSON.stringify(CHAOS) + ", " +
          JSON.stringify(String(src)) + ");");
        core.awaitStarted(before);
      },
      broadcast: function (sab, num) {
        core.chaos("broadcast");
        core.clearAcks();
        if (typeof num === "bigint") {
          i64[0] = num;
          Atomics.store(core.ctl, core.C.NUM_KIND, 1);
        } else {
          f64[0] = num === undefined ? 0 : Number(num);
          Atomics.store(core.ctl, core.C.NUM_KIND, 0);
        }
        global.setSharedObject(sab);
        core.trace("broadcast", { agents: agents, num: String(num) });
        Atomics.add(core.ctl, core.C.GENERATION, 1);
        Atomics.notify(core.ctl, core.C.GENERATION);
        core.awaitAcks(agents);
      },
      getReport: core.getReport,
      sleep: core.sleep,
      monotonicNow: global.monotonicNow,
    };

    function makeHost(g) {
      return {
        global: g,
        createRealm: function () {
          var fresh = global.newGlobal();
          fresh.$262 = makeHost(fresh);
          fresh.print = global.print;
          return fresh.$262;
        },
        evalScript: function (src) {
          return g === global ? evaluate(String(src)) : g.evaluate(String(src));
        },
        detachArrayBuffer: function (buffer) {
          global.detachArrayBuffer(buffer);
          return null;
        },
        gc: function () {
          global.gc();
        },
        agent: agent,
      };
    }

    global.$262 = makeHost(global);
    global.print = function () { line(Array.prototype.join.call(arguments, " ")); };
    var source = global.os.file.readFile(file);
    var name = file.split("/").pop();
    var failed = false;
    if (kind === "module") {
      var module;
      try {
        module = global.parseModule(source, name);
      } catch (error) {
        line("jostle-t262:error " + JSON.stringify(errorRecord(error, "parse")));
        failed = true;
      }
      if (!failed) {
        try {
          module.declarationInstantiation();
        } catch (error) {
          line("jostle-t262:error " + JSON.stringify(errorRecord(error, "resolution")));
          failed = true;
        }
      }
      if (!failed) {
        try {
          module.evaluation();
        } catch (error) {
          line("jostle-t262:error " + JSON.stringify(errorRecord(error, "runtime")));
          failed = true;
        }
      }
    } else {
      try {
        global.parse(source);
      } catch (error) {
        line("jostle-t262:error " + JSON.stringify(errorRecord(error, "parse")));
        failed = true;
      }
      if (!failed) {
        try {
          evaluate(source, { fileName: name });
        } catch (error) {
          line("jostle-t262:error " + JSON.stringify(errorRecord(error, "runtime")));
          failed = true;
        }
      }
    }
    try {
      global.drainJobQueue();
    } catch (error) {
      line("jostle-t262:error " + JSON.stringify(errorRecord(error, "runtime")));
      failed = true;
    }
    line("jostle-t262:done " + (failed ? "fail" : (isAsync ? "async" : "ok")));
    return failed ? 1 : 0;
  }

  var code = main();
  if (code) global.quit(code);
})(this);
