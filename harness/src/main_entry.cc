#include "jostle/harness_main.h"

int main(int argc, char** argv) { return jostle::harness_main(argc, argv); }
