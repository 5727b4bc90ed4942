/* /metrics in Prometheus' text format. */
#include <stdio.h>
#include <string.h>

#include "server/server_state.h"

static const unsigned counted_statuses[SERVER_N_STATUS] = SERVER_COUNTED_STATUSES;

void metrics_count_response(server *srv, unsigned status)
{
    int i = 0;
    while (i < SERVER_N_STATUS - 1 && counted_statuses[i] != status)
        i++;
    atomic_fetch_add(&srv->responses[i], 1);
}

static void metric(chat_buf *out, const char *name, const char *type, const char *help,
                   double value)
{
    char line[512];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
             type, name, value);
    chat_buf_puts(out, line);
}

static void responses(server *srv, chat_buf *out)
{
    chat_buf_puts(out, "# HELP g4_http_responses_total HTTP responses by status code.\n"
                       "# TYPE g4_http_responses_total counter\n");
    for (int i = 0; i < SERVER_N_STATUS; i++) {
        char line[128];
        char code[16] = "other";
        if (counted_statuses[i])
            snprintf(code, sizeof code, "%u", counted_statuses[i]);
        snprintf(line, sizeof line, "g4_http_responses_total{code=\"%s\"} %llu\n", code,
                 (unsigned long long)atomic_load(&srv->responses[i]));
        chat_buf_puts(out, line);
    }
}

enum MHD_Result metrics_page(server *srv, http_request *req)
{
    scheduler_stats st = {0};
    if (atomic_load(&srv->ready))
        scheduler_get_stats(srv->sched, &st);
    chat_buf out = {0};
    responses(srv, &out);
    metric(&out, "g4_requests_finished_total", "counter", "Generation requests finished.",
           (double)st.jobs_done);
    metric(&out, "g4_prompt_tokens_total", "counter",
           "Prompt tokens evaluated (not counting reused ones).", (double)st.prompt_tokens);
    metric(&out, "g4_generated_tokens_total", "counter", "Tokens generated.",
           (double)st.generated_tokens);
    metric(&out, "g4_prefill_seconds_total", "counter", "Seconds spent evaluating prompts.",
           st.prefill_seconds);
    metric(&out, "g4_decode_seconds_total", "counter", "Seconds spent in decode steps.",
           st.decode_seconds);
    metric(&out, "g4_prompt_tokens_per_second", "gauge",
           "Prompt tokens evaluated per second of prefill, since the start.",
           st.prefill_seconds > 0 ? (double)st.prompt_tokens / st.prefill_seconds : 0);
    metric(&out, "g4_generated_tokens_per_second", "gauge",
           "Tokens generated per second of decoding (all slots together), since the start.",
           st.decode_seconds > 0 ? (double)st.generated_tokens / st.decode_seconds : 0);
    metric(&out, "g4_queue_length", "gauge", "Requests waiting for a slot.", st.queued);
    metric(&out, "g4_slots_busy", "gauge", "Slots generating.", st.running);
    metric(&out, "g4_slots_total", "gauge", "Slots (--parallel).", st.n_slots);
    metric(&out, "g4_prefix_cache_hits_total", "counter",
           "Requests that reused a cached prompt prefix.", (double)st.prefix_hits);
    metric(&out, "g4_prefix_cache_tokens_total", "counter",
           "Prompt tokens reused from the prefix cache.", (double)st.cached_tokens);
    enum MHD_Result ret =
        out.failed ? MHD_NO
                   : http_send_text(req, 200, "text/plain; version=0.0.4",
                                    out.data ? out.data : "", out.len);
    chat_buf_free(&out);
    return ret;
}
