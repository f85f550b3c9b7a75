// jostle's atomicsHelper.js: the agent helpers test262's Atomics tests rely on, with the same names and
// contracts (a blocking getReport, safeBroadcast, waitUntil, tryYield, timeouts), written for this corpus.
{
  let hostGetReport = $262.agent.getReport.bind($262.agent);
  $262.agent.getReport = function () {
    var r;
    while ((r = hostGetReport()) == null) {
      $262.agent.sleep(1);
    }
    return r;
  };
  $262.agent.getReportAsync = function () {
    return new Promise(function (resolve) {
      (function poll() {
        var r = hostGetReport();
        if (r == null) {
          Promise.resolve().then(function () { $262.agent.sleep(1); poll(); });
        } else {
          resolve(r);
        }
      })();
    });
  };
}
$262.agent.safeBroadcast = function (typedArray) {
  var Ctor = Object.getPrototypeOf(typedArray).constructor;
  try {
    Atomics.wait(new Ctor(new SharedArrayBuffer(Ctor.BYTES_PER_ELEMENT)), 0, Ctor === Int32Array ? 1 : 1n);
  } catch (error) {
    throw new Test262Error(Ctor.name + " is not a waitable shared typed array (" + error + ")");
  }
  $262.agent.broadcast(typedArray.buffer);
};
$262.agent.waitUntil = function (typedArray, index, expected) {
  var seen;
  while ((seen = Atomics.load(typedArray, index)) !== expected) {
    /* spin, as test262's helper does */
  }
  assert.sameValue(seen, expected, "agents checked in");
};
$262.agent.timeouts = { yield: 100, small: 200, long: 1000, huge: 10000 };
$262.agent.tryYield = function () {
  $262.agent.sleep($262.agent.timeouts.yield);
};
$262.agent.trySleep = function (ms) {
  $262.agent.sleep(ms);
};
