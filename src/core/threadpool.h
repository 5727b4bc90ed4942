/* A fixed pool of threads that all run the same function, for the forward pass: the
 * caller is thread 0 and takes part. Dispatch is cheap (hundreds of runs per token):
 * idle workers spin briefly on a generation counter before sleeping. */
#ifndef G4_CORE_THREADPOOL_H
#define G4_CORE_THREADPOOL_H

typedef struct threadpool threadpool;

/* n_threads in total, the caller included (n_threads - 1 are started); NULL on failure
 * or when n_threads < 1. */
threadpool *threadpool_new(int n_threads);
void threadpool_free(threadpool *pool);
int threadpool_size(const threadpool *pool);

typedef void (*threadpool_fn)(void *ctx, int thread_index, int n_threads);

/* Runs fn(ctx, i, n) on every thread i (the caller is thread 0) and returns when all have
 * finished; their writes are visible to the caller afterwards. Not reentrant: one run at a
 * time, from one thread. */
void threadpool_run(threadpool *pool, threadpool_fn fn, void *ctx);

#endif
