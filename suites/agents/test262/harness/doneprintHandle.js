// jostle's doneprintHandle.js: $DONE reports the verdict of an async test through print.
function $DONE(error) {
  if (!error) {
    print("Test262:AsyncTestComplete");
    return;
  }
  var text;
  if (typeof error === "object" && error !== null && "message" in error) {
    text = (error.constructor && error.constructor.name || "Error") + ": " + error.message;
  } else {
    text = "Test262Error: " + String(error);
  }
  print("Test262:AsyncTestFailure:" + text);
}
