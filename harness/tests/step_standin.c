/* A stand-in for outside code, for the stepped-aim self-test (chaos_steer_test.cc): built as its own shared
 * library, so that its instructions lie outside the harness's code, as a plugin's do. */
#define _GNU_SOURCE
#include <sys/resource.h>

/* The call's voluntary context switches up to its first system call, a few instructions after its entry, go to
 * *early_start (the caller subtracts its own reading taken just before the call); the rest are the caller's to
 * count after the call. Between them, `loop` rounds of arithmetic make the call a few thousand instructions long.
 * Only preempt mode's sleep action makes this thread switch voluntarily. */
void jostle_standin_call(int loop, volatile long* sink, long* early_end) {
  struct rusage mid;
  getrusage(RUSAGE_THREAD, &mid);
  long s = 0;
  for (int i = 0; i < loop; ++i) s += *sink ^ i;
  *sink = s;
  *early_end = mid.ru_nvcsw;
}
