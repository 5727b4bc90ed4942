/* The server's scheduler: jobs decoded together on a few slots (joining as others finish,
 * their prompts read a few tokens per pass between decode steps) produce exactly what
 * g4_generate produces for each alone; a finished slot's cache serves
 * a repeated prompt; cancelling stops a job; a full queue refuses. Exact f32 math, so that
 * equal means equal. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reference.h"
#include "server/scheduler.h"

enum { N_JOBS = 5, N_SLOTS = 3, CTX = 128, BATCH = 4 };

static const char *const prompts[N_JOBS] = {
    "Hello", "The sky is blue because the air scatters", "One two three four five six",
    "Bonjour tout le monde", "Le chat"};
static const int32_t max_tokens[N_JOBS] = {9, 12, 7, 10, 11};

static g4_session_params session_params(void)
{
    g4_session_params sp;
    g4_session_params_init(&sp);
    sp.n_ctx = CTX;
    sp.n_batch = BATCH; /* prompts are read in passes, decode steps run in between */
    sp.kv_type = G4_KV_F32;
    return sp;
}

static bool collect(const char *text, size_t len, void *user)
{
    chat_buf_put(user, text, len);
    return true;
}

/* What g4_generate gives for the prompt on a fresh session (greedy). */
static char *alone(g4_model *model, const char *prompt, int32_t n)
{
    g4_session_params sp = session_params();
    g4_session *s = NULL;
    g4_sampler *sampler = NULL;
    g4_sampler_params gp;
    g4_sampler_params_init(&gp);
    gp.temperature = 0;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    chat_buf text = {0};
    g4_generate_params params = {.max_tokens = n, .on_text = collect, .user = &text};
    CHECK(g4_session_new(model, &sp, &s) == G4_OK &&
          g4_sampler_new(&gp, g4_model_vocab_size(model), &sampler) == G4_OK &&
          g4_tokenize(model, prompt, strlen(prompt), true, true, &ids, &n_ids) == G4_OK &&
          g4_generate(s, sampler, ids, n_ids, &params, NULL) == G4_OK);
    g4_free(ids);
    g4_sampler_free(sampler);
    g4_session_free(s);
    chat_buf_put(&text, "", 1);
    return chat_buf_take(&text);
}

static job *greedy_job(g4_model *model, const char *prompt, int32_t n)
{
    job *j = job_new();
    j->sampling.temperature = 0;
    j->max_tokens = n;
    CHECK(g4_input_new(model, prompt, strlen(prompt), true, NULL, 0, &j->input) == G4_OK);
    return j;
}

static void wait_done(job *j)
{
    pthread_mutex_lock(&j->lock);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&j->changed, &j->lock);
    pthread_mutex_unlock(&j->lock);
}

static bool same_text(job *j, const char *want)
{
    return j->text.len == strlen(want) && memcmp(j->text.data, want, j->text.len) == 0;
}

static scheduler *new_scheduler(g4_model *model, int slots, int queue)
{
    scheduler_params p = {.n_slots = slots, .max_queue = queue, .session = session_params()};
    scheduler *s = NULL;
    g4_err err = {0};
    CHECK_MSG(scheduler_new(model, &p, &s, &err) == G4_OK, "%s", err.msg);
    return s;
}

static void check_batched_jobs(g4_model *model)
{
    char *want[N_JOBS];
    for (int i = 0; i < N_JOBS; i++)
        want[i] = alone(model, prompts[i], max_tokens[i]);
    scheduler *s = new_scheduler(model, N_SLOTS, N_JOBS);
    job *jobs[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) {
        jobs[i] = greedy_job(model, prompts[i], max_tokens[i]);
        CHECK(scheduler_submit(s, jobs[i]) == SUBMIT_OK);
    }
    for (int i = 0; i < N_JOBS; i++) {
        wait_done(jobs[i]);
        CHECK(jobs[i]->finish == JOB_FINISH_LENGTH);
        CHECK(jobs[i]->completion_tokens == (uint32_t)max_tokens[i]);
        CHECK_MSG(want[i] && same_text(jobs[i], want[i]), "job %d: '%.*s' alone: '%s'", i,
                  (int)jobs[i]->text.len, jobs[i]->text.data, want[i]);
    }
    /* the first prompt again: all but its last token come from a slot's cache */
    job *again = greedy_job(model, prompts[0], max_tokens[0]);
    CHECK(scheduler_submit(s, again) == SUBMIT_OK);
    wait_done(again);
    CHECK(again->cached_tokens + 1 == g4_input_n_tokens(again->input));
    CHECK(want[0] && same_text(again, want[0]));
    scheduler_stats st;
    scheduler_get_stats(s, &st);
    CHECK(st.jobs_done == N_JOBS + 1 && st.prefix_hits >= 1 && st.running == 0);
    printf("%d jobs on %d slots: generated %llu tokens, reused %llu prompt tokens\n",
           N_JOBS + 1, N_SLOTS, (unsigned long long)st.generated_tokens,
           (unsigned long long)st.cached_tokens);
    job_release(again);
    for (int i = 0; i < N_JOBS; i++) {
        job_release(jobs[i]);
        free(want[i]);
    }
    scheduler_free(s);
}

static uint32_t run_job(scheduler *s, g4_model *model, const char *prompt)
{
    job *j = greedy_job(model, prompt, 2);
    CHECK(scheduler_submit(s, j) == SUBMIT_OK);
    wait_done(j);
    uint32_t cached = j->cached_tokens;
    job_release(j);
    return cached;
}

/* An unrelated prompt that shares only <bos> takes the empty slot rather than evicting a
 * conversation; once no slot is empty, the least recently used one goes. */
static void check_eviction(g4_model *model)
{
    const char *chat = "A long conversation about the weather in Paris and in Rome";
    scheduler *s = new_scheduler(model, 2, 4);
    CHECK(run_job(s, model, chat) == 0);
    CHECK(run_job(s, model, "Something else") == 0);
    job *again = greedy_job(model, chat, 2);
    uint32_t want = (uint32_t)g4_input_n_tokens(again->input) - 1;
    job_release(again);
    CHECK(run_job(s, model, chat) == want);
    CHECK(run_job(s, model, "Third topic") <= 1); /* evicts "Something else", but <bos> */
    CHECK(run_job(s, model, chat) == want);
    scheduler_free(s);
}

/* A job cancelled while it runs ends early; one slot and a queue of one refuse a third. */
static void check_cancel_and_queue(g4_model *model)
{
    scheduler *s = new_scheduler(model, 1, 1);
    job *a = greedy_job(model, "Hello", 100), *b = greedy_job(model, "Hi", 100);
    job *c = greedy_job(model, "Hey", 100);
    CHECK(scheduler_submit(s, a) == SUBMIT_OK);
    submit_result rb = scheduler_submit(s, b), rc = scheduler_submit(s, c);
    CHECK(rc == SUBMIT_QUEUE_FULL);
    job_cancel(a);
    job_cancel(b);
    wait_done(a);
    CHECK(a->finish == JOB_FINISH_CANCELLED && a->completion_tokens < 100);
    if (rb == SUBMIT_OK) {
        wait_done(b);
        CHECK(b->finish == JOB_FINISH_CANCELLED && b->completion_tokens < 100);
    }
    scheduler_stop(s, 0);
    CHECK(scheduler_submit(s, c) == SUBMIT_STOPPING);
    scheduler_free(s);
    job_release(a);
    job_release(b);
    job_release(c);
}

int main(void)
{
    g4_model *model = ref_load_model("tiny-gemma4u-q4_0.gguf", true);
    if (model) {
        check_batched_jobs(model);
        check_eviction(model);
        check_cancel_and_queue(model);
    }
    g4_model_free(model);
    return test_finish("server_scheduler");
}
