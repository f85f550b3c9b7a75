/* A stand-in for outside code, for the stepped-aim self-test (chaos_steer_test.cc): built as its own shared
 * library, so that its instructions lie outside the harness's code, as a plugin's do. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
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

static void* jostle_standin_child(void* arg) { return arg; }

/* Blocks every signal and restores the mask (as glibc does around a clone, a few dozen instructions into the
 * call), then starts a thread and joins it. Stepping must go through neither. */
int jostle_standin_spawn(void) {
  sigset_t all, old;
  sigfillset(&all);
  if (pthread_sigmask(SIG_BLOCK, &all, &old) != 0 || pthread_sigmask(SIG_SETMASK, &old, NULL) != 0) return -1;
  pthread_t t;
  if (pthread_create(&t, NULL, jostle_standin_child, NULL) != 0) return -1;
  return pthread_join(t, NULL);
}
