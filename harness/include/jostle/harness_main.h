#pragma once

namespace jostle {
// The harness process entry point (docs/protocol.md); every suite binary's main() calls it.
int harness_main(int argc, char** argv);
}  // namespace jostle
