// A small fork-join pool for the encoder's parallel regions (several hundred per image, each ~50 µs to a few ms).
//
// libdispatch wakes its worker threads through the kernel for every region; on the 2-core machine that latency plus
// the wait at each region's end cost ~15 % of batch-1 encoding. Here the workers spin for a while after a region
// (a region usually follows within microseconds) and only then sleep on a condition variable.
//
// Publication is a seqlock: the caller makes `generation` odd, waits until no worker is reading the job, writes the
// job and makes `generation` even again. A worker that sees a new even generation registers in `active`, re-checks
// the generation (backing off if it moved), and only then reads the job, so it never reads a job being written.
#include "vlm_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VLM_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define VLM_PAUSE() __asm__ __volatile__("yield")
#else
#define VLM_PAUSE() ((void)0)
#endif

/// Pauses a worker spins through before sleeping, and a caller before yielding: about 0.2 ms (a pause is ~25 ns on
/// Zen 4), far longer than the gap between two regions of one forward pass.
enum { kMaxWorkers = 63, kSpinRounds = 8000 };

static struct {
    pthread_mutex_t submit;  // one region at a time; a second caller is told to go elsewhere
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    atomic_uint generation;  // odd while the job is being written
    atomic_int active;       // workers between registering and finishing a job
    atomic_int sleepers;
    int workers;             // started so far (only grows)
    // The job, valid while generation is even:
    vlm_task_fn fn;
    void *context;
    ptrdiff_t count;
    int helpers;  // workers with index < helpers take part
    atomic_long next;
    atomic_long done;
} pool = {
    .submit = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/// Claims indices of the current job until none are left.
static void work(void) {
    const ptrdiff_t count = pool.count;
    ptrdiff_t i;
    while ((i = atomic_fetch_add(&pool.next, 1)) < count) {
        pool.fn(pool.context, i);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *worker_main(void *argument) {
    const int index = (int)(intptr_t)argument;
    unsigned seen = atomic_load(&pool.generation);
    for (;;) {
        unsigned generation = atomic_load_explicit(&pool.generation, memory_order_acquire);
        for (int spin = 0; (generation == seen || (generation & 1)) && spin < kSpinRounds; spin++) {
            VLM_PAUSE();
            generation = atomic_load_explicit(&pool.generation, memory_order_acquire);
        }
        if (generation == seen || (generation & 1)) {
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while ((generation = atomic_load(&pool.generation)) == seen || (generation & 1))
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
        atomic_fetch_add(&pool.active, 1);
        if (atomic_load(&pool.generation) != generation) {  // moved on while registering: look again
            atomic_fetch_sub(&pool.active, 1);
            continue;
        }
        seen = generation;
        if (index < pool.helpers) work();
        atomic_fetch_sub_explicit(&pool.active, 1, memory_order_release);
    }
    return NULL;
}

/// Starts workers up to `wanted` (never stops them: they sleep when idle). Returns how many exist.
static int ensure_workers(int wanted) {
    wanted = wanted > kMaxWorkers ? kMaxWorkers : wanted;
    pthread_mutex_lock(&start_lock);
    while (pool.workers < wanted) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        const int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)pool.workers);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        pool.workers++;
    }
    const int workers = pool.workers;
    pthread_mutex_unlock(&start_lock);
    return workers;
}

int vlm_parallel_for(ptrdiff_t count, int threads, vlm_task_fn fn, void *context) {
    const int helpers = threads - 1 < count - 1 ? threads - 1 : (int)(count - 1);
    if (helpers <= 0) {
        for (ptrdiff_t i = 0; i < count; i++) fn(context, i);
        return 1;
    }
    if (ensure_workers(helpers) <= 0 || pthread_mutex_trylock(&pool.submit) != 0) return 0;
    // Publish: odd generation, wait out readers of the last job, write, even generation.
    atomic_fetch_add(&pool.generation, 1);
    while (atomic_load(&pool.active) != 0) VLM_PAUSE();
    pool.fn = fn;
    pool.context = context;
    pool.count = count;
    pool.helpers = helpers;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.done, 0);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    work();
    for (int spin = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < count; spin++) {
        if (spin < kSpinRounds) VLM_PAUSE();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.submit);
    return 1;
}
