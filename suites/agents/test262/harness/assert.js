// jostle's assert.js: the subset of test262's assertion API its own corpus uses.
function assert(mustBeTrue, message) {
  if (mustBeTrue === true) {
    return;
  }
  throw new Test262Error(message || "Expected true but got " + String(mustBeTrue));
}
assert._show = function (value) {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
};
assert.sameValue = function (actual, expected, message) {
  if (Object.is(actual, expected)) {
    return;
  }
  throw new Test262Error((message ? message + " " : "") + "Expected SameValue(" + assert._show(actual) +
    ", " + assert._show(expected) + ") to be true");
};
assert.notSameValue = function (actual, unexpected, message) {
  if (!Object.is(actual, unexpected)) {
    return;
  }
  throw new Test262Error((message ? message + " " : "") + "Expected " + assert._show(actual) +
    " to differ from " + assert._show(unexpected));
};
assert.throws = function (expectedErrorConstructor, func, message) {
  try {
    func();
  } catch (thrown) {
    if (typeof thrown !== "object" || thrown === null || thrown.constructor !== expectedErrorConstructor) {
      throw new Test262Error((message ? message + " " : "") + "Expected a " + expectedErrorConstructor.name +
        " but got " + String(thrown));
    }
    return;
  }
  throw new Test262Error((message ? message + " " : "") + "Expected a " + expectedErrorConstructor.name +
    " to be thrown but no exception was thrown at all");
};
