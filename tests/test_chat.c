/* The chat format: rendering requests exactly as the Gemma 4 chat template does, and
 * parsing generated text into answer, reasoning and tool calls.
 *
 * The reference renderings come from tests/data/reference-public.gguf (made by the real
 * Jinja template). The other expected strings were derived by hand from
 * chat_template.jinja, macro by macro. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/gguf.h"
#include "g4.h"
#include "harness.h"
#include "text/chat.h"

#define Q "<|\"|>"
#define NO_THINKING "<|turn>model\n<|channel>thought\n<channel|>"

/* ---- helpers ------------------------------------------------------------------------------ */

static void report_difference(const char *name, const char *got, const char *want)
{
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    size_t from = i > 40 ? i - 40 : 0;
    fprintf(stderr, "    %s: first difference at byte %zu\n    got:  ...%.100s\n"
            "    want: ...%.100s\n", name, i, got + from, want + from);
}

/* Requests are written with ' for JSON's " to stay readable; \" is a quote inside a
 * JSON string. Converts in place. */
static char *swap_quotes(char *text)
{
    for (char *c = text; *c; c++)
        if (*c == '\'')
            *c = '"';
    return text;
}

static char *json_copy(const char *single_quoted)
{
    return swap_quotes(strdup(single_quoted));
}

static void compare_rendering(const char *name, const char *request, const char *want)
{
    char *got = NULL;
    g4_err err = {0};
    g4_status st = chat_render(request, strlen(request), &got, &err);
    CHECK_MSG(st == G4_OK, "%s: %s", name, err.msg);
    if (st != G4_OK)
        return;
    bool same = strcmp(got, want) == 0;
    CHECK_MSG(same, "%s: rendering differs", name);
    if (!same)
        report_difference(name, got, want);
    free(got);
}

static void expect_render(const char *name, const char *single_quoted, const char *want)
{
    char *request = json_copy(single_quoted);
    compare_rendering(name, request, want);
    free(request);
}

static void expect_render_error(const char *single_quoted, const char *message_part)
{
    char *request = json_copy(single_quoted);
    char *got = (char *)"untouched";
    g4_err err = {0};
    g4_status st = chat_render(request, strlen(request), &got, &err);
    CHECK_MSG(st == G4_ERR_FORMAT, "%s: status %d", request, st);
    CHECK(got == NULL);
    CHECK_MSG(strstr(err.msg, message_part) != NULL, "error '%s' lacks '%s'", err.msg,
              message_part);
    free(request);
}

/* ---- the reference renderings ------------------------------------------------------------- */

static char *gguf_string(const gguf_file *file, const char *key)
{
    gguf_str value;
    g4_err err = {0};
    if (gguf_get_str(file, key, &value, &err) != G4_OK)
        return NULL;
    char *copy = malloc(value.len + 1);
    memcpy(copy, value.ptr, value.len);
    copy[value.len] = '\0';
    return copy;
}

static bool has_prefix(gguf_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

static bool has_suffix(gguf_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.ptr + s.len - n, suffix, n) == 0;
}

/* Renders every chat.NAME.request and mm.NAME.request and compares with .rendered. */
static void test_reference_renderings(void)
{
    gguf_file *file;
    g4_err err = {0};
    g4_status st = gguf_open(test_data_path("reference-public.gguf"), &file, &err);
    CHECK_MSG(st == G4_OK, "%s", err.msg);
    if (st != G4_OK)
        return;
    int cases = 0;
    for (uint64_t i = 0; i < file->n_kv; i++) {
        gguf_str key = file->kv[i].key;
        if (!(has_prefix(key, "chat.") || has_prefix(key, "mm.")) || !has_suffix(key, ".request"))
            continue;
        char name[256], request_key[300], rendered_key[300];
        snprintf(name, sizeof name, "%.*s", (int)(key.len - strlen(".request")), key.ptr);
        snprintf(request_key, sizeof request_key, "%s.request", name);
        snprintf(rendered_key, sizeof rendered_key, "%s.rendered", name);
        char *request = gguf_string(file, request_key);
        char *want = gguf_string(file, rendered_key);
        CHECK_MSG(request && want, "%s: missing request or rendering", name);
        if (request && want)
            compare_rendering(name, request, want);
        free(request);
        free(want);
        cases++;
    }
    CHECK_MSG(cases >= 10, "only %d reference cases", cases);
    gguf_close(file);
}

/* ---- hand-derived renderings -------------------------------------------------------------- */

static void test_nested_tool_declarations(void)
{
    expect_render("nested tools",
        "{'messages':[{'role':'user','content':'Plan it.'}],'tools':["
        "{'type':'function','function':{'name':'search_flights',"
        "'description':'Find flights.','parameters':{'type':'object','properties':{"
        "'route':{'type':'object','description':'Where from and to','properties':"
        "{'from':{'type':'string'},'to':{'type':'string'}},'required':['from','to']},"
        "'cabin':{'type':'string','enum':['economy','business']},"
        "'Passengers':{'type':'array','description':'Travellers','items':{'type':"
        "'object','properties':{'age':{'type':'integer'},'name':{'type':'string',"
        "'description':'Full name'}},'required':['name']}},"
        "'max_price':{'type':'number','nullable':true},"
        "'tags':{'type':'array','items':{'type':'string','enum':['direct','red-eye']}}},"
        "'required':['route','cabin']}}},"
        "{'type':'function','function':{'name':'noop','description':'Does nothing.'}}]}",
        "<bos><|turn>system\n<|tool>declaration:search_flights{description:" Q "Find flights." Q
        ",parameters:{properties:{"
        "cabin:{enum:[" Q "economy" Q "," Q "business" Q "],type:" Q "STRING" Q "},"
        "max_price:{nullable:true,type:" Q "NUMBER" Q "},"
        "Passengers:{description:" Q "Travellers" Q ",items:{properties:{age:{type:" Q "INTEGER" Q
        "},name:{description:" Q "Full name" Q ",type:" Q "STRING" Q "}},required:[" Q "name" Q
        "],type:" Q "OBJECT" Q "},type:" Q "ARRAY" Q "},"
        "route:{description:" Q "Where from and to" Q ",properties:{from:{type:" Q "STRING" Q
        "},to:{type:" Q "STRING" Q "}},required:[" Q "from" Q "," Q "to" Q "],type:" Q "OBJECT" Q
        "},"
        "tags:{items:{enum:[" Q "direct" Q "," Q "red-eye" Q "],type:" Q "STRING" Q "},type:" Q
        "ARRAY" Q "}"
        "},required:[" Q "route" Q "," Q "cabin" Q "],type:" Q "OBJECT" Q "}}<tool|>"
        "<|tool>declaration:noop{description:" Q "Does nothing." Q "}<tool|><turn|>\n"
        "<|turn>user\nPlan it.<turn|>\n" NO_THINKING);
}

/* Template quirks reproduced: a missing description still prints, a type list prints as
 * a Python list, parameters without "type" leave their brace open, "type" is never a
 * parameter name, and a response declaration follows. */
static void test_tool_declaration_quirks(void)
{
    expect_render("declaration quirks",
        "{'messages':[{'role':'user','content':'x'}],'tools':[{'type':'function',"
        "'function':{'name':'q','parameters':{'properties':{"
        "'a':{'type':['string','null'],'description':'maybe'},"
        "'b':{'type':'array','items':{'type':['integer','null'],'minimum':0}},"
        "'type':{'type':'string'}}},"
        "'response':{'type':'object','description':'out'}}}]}",
        "<bos><|turn>system\n<|tool>declaration:q{description:" Q Q ",parameters:{properties:{"
        "a:{description:" Q "maybe" Q ",type:" Q "['STRING', 'NULL']" Q "},"
        "b:{items:{minimum:0,type:[" Q "INTEGER" Q "," Q "NULL" Q "]},type:" Q "ARRAY" Q "}},"
        ",response:{description:" Q "out" Q ",type:" Q "OBJECT" Q "}}<tool|><turn|>\n"
        "<|turn>user\nx<turn|>\n" NO_THINKING);
}

static void test_roles_and_parts(void)
{
    expect_render("developer and text parts",
        "{'messages':[{'role':'developer','content':'  Be brief.\\n'},"
        "{'role':'user','content':[{'type':'text','text':' First part. '},"
        "{'type':'text','text':'Second part.'}]},"
        "{'role':'system','content':'Late rule.'},{'role':'user','content':'Go'}]}",
        "<bos><|turn>system\nBe brief.<turn|>\n<|turn>user\nFirst part.Second part.<turn|>\n"
        "<|turn>system\nLate rule.<turn|>\n<|turn>user\nGo<turn|>\n" NO_THINKING);
    expect_render("media parts",
        "{'messages':[{'role':'user','content':[{'type':'image_url','image_url':"
        "{'url':'data:image/png;base64,AAAA'}},{'type':'text','text':'What is this?'},"
        "{'type':'input_audio','input_audio':{'data':'AAAA','format':'wav'}},"
        "{'type':'video'},{'type':'file','file':{}}]}]}",
        "<bos><|turn>user\n<|image|>What is this?<|audio|><|video|><turn|>\n" NO_THINKING);
    /* Python's strip() also removes Unicode spaces such as U+3000 and U+00A0. */
    expect_render("unicode trim, thinking, no generation prompt",
        "{'messages':[{'role':'user','content':'\\u3000\\u00a0 hi \\u2003\\n'}],"
        "'enable_thinking':true,'add_generation_prompt':false}",
        "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nhi<turn|>\n");
    expect_render("consecutive assistant messages share a turn",
        "{'messages':[{'role':'user','content':'a'},{'role':'assistant',"
        "'content':'b'},{'role':'assistant','content':'c'}],"
        "'add_generation_prompt':false}",
        "<bos><|turn>user\na<turn|>\n<|turn>model\nb<turn|>\nc<turn|>\n");
    expect_render("a tool message answering no call is dropped",
        "{'messages':[{'role':'user','content':'a'},{'role':'tool','content':'x'}]}",
        "<bos><|turn>user\na<turn|>\n" NO_THINKING);
    expect_render("system content null prints None",
        "{'messages':[{'role':'system','content':null},{'role':'user','content':'q'}]}",
        "<bos><|turn>system\nNone<turn|>\n<|turn>user\nq<turn|>\n" NO_THINKING);
}

static void test_tool_call_turns(void)
{
    /* Results follow the calls (matched by id), the content comes after them, and the
     * next assistant message continues the same model turn. */
    expect_render("calls, results and content",
        "{'messages':[{'role':'user','content':'Weather and time in Oslo?'},"
        "{'role':'assistant','content':'Checking both.','tool_calls':["
        "{'id':'call_1','type':'function','function':{'name':'get_weather',"
        "'arguments':'{\\\"city\\\": \\\"Oslo\\\", \\\"days\\\": 2, \\\"detailed\\\": true}'}},"
        "{'id':'call_2','type':'function','function':{'name':'get_time',"
        "'arguments':{'city':'Oslo','offset':1.0}}}]},"
        "{'role':'tool','tool_call_id':'call_2','content':'12:30'},"
        "{'role':'tool','tool_call_id':'call_1','content':{'temp_c':-3.5,"
        "'sky':'snow, light','alerts':null,'hourly':[1,2]}},"
        "{'role':'assistant','content':'It is 12:30 and snowing.'},"
        "{'role':'user','content':'Thanks'}]}",
        "<bos><|turn>user\nWeather and time in Oslo?<turn|>\n<|turn>model\n"
        "<|tool_call>call:get_weather{city:" Q "Oslo" Q ",days:2,detailed:true}<tool_call|>"
        "<|tool_call>call:get_time{city:" Q "Oslo" Q ",offset:1.0}<tool_call|>"
        "<|tool_response>response:get_time{value:" Q "12:30" Q "}<tool_response|>"
        "<|tool_response>response:get_weather{alerts:None,hourly:[1,2],sky:" Q "snow, light" Q
        ",temp_c:-3.5}<tool_response|>"
        "Checking both.<turn|>\nIt is 12:30 and snowing.<turn|>\n<|turn>user\nThanks<turn|>\n"
        NO_THINKING);
    expect_render("call awaiting results",
        "{'messages':[{'role':'user','content':'Time?'},{'role':'assistant',"
        "'tool_calls':[{'function':{'name':'get_time','arguments':{}}}]}]}",
        "<bos><|turn>user\nTime?<turn|>\n<|turn>model\n<|tool_call>call:get_time{}<tool_call|>"
        "<|tool_response>");
    expect_render("text parts of a tool result, legacy tool_responses",
        "{'messages':[{'role':'user','content':'Go'},"
        "{'role':'assistant','tool_calls':[{'function':{'name':'a','arguments':''}}]},"
        "{'role':'tool','name':'a','content':[{'type':'text','text':' x '},"
        "{'type':'image'},{'type':'text','text':'y'}]},"
        "{'role':'assistant','tool_calls':[{'function':{'name':'b'}}],"
        "'tool_responses':[{'response':14},{'name':'b','response':{'ok':true}}]}]}",
        "<bos><|turn>user\nGo<turn|>\n<|turn>model\n<|tool_call>call:a{}<tool_call|>"
        "<|tool_response>response:a{value:" Q " x y" Q "}<tool_response|>"
        "<|tool_call>call:b{}<tool_call|><|tool_response>response:unknown{value:14}"
        "<tool_response|><|tool_response>response:b{ok:true}<tool_response|>");
}

static void test_thinking_history(void)
{
    /* Thought channels are stripped from history; reasoning is kept only on a tool-call
     * turn after the last user message. */
    expect_render("thinking history",
        "{'messages':[{'role':'user','content':'What is 2+2?'},"
        "{'role':'assistant','content':'<|channel>thought\\nEasy.<channel|>4',"
        "'reasoning_content':'old thought'},"
        "{'role':'user','content':'And the weather?'},"
        "{'role':'assistant','reasoning_content':'Need the tool.','tool_calls':"
        "[{'function':{'name':'get_weather','arguments':{'city':'Rome'}}}]},"
        "{'role':'tool','name':'get_weather','content':'sunny'}],"
        "'chat_template_kwargs':{'enable_thinking':true}}",
        "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nWhat is 2+2?<turn|>\n"
        "<|turn>model\n4<turn|>\n<|turn>user\nAnd the weather?<turn|>\n<|turn>model\n"
        "<|channel>thought\nNeed the tool.\n<channel|>"
        "<|tool_call>call:get_weather{city:" Q "Rome" Q "}<tool_call|>"
        "<|tool_response>response:get_weather{value:" Q "sunny" Q "}<tool_response|>");
}

#define VALUES_ARGUMENTS                                                                       \
    "{'int':20,'float':1.0,'small':0.00001,'big':1e16,'neg_zero':-0,"               \
    "'huge_int':12345678901234567890,'t':true,'f':false,'n':null,"                     \
    "'s':'say \\\"hi\\\", {ok}: yes','list':[1,'a',[true]],'obj':{'Z':1,'a':2}}"

/* Values print as Python prints them: 20 but 1.0, 1e-05, 1e+16, None; keys sort
 * case-insensitively. */
static void test_value_formatting(void)
{
    expect_render("values",
        "{'messages':[{'role':'user','content':'v'},{'role':'assistant',"
        "'tool_calls':[{'function':{'name':'f','arguments':" VALUES_ARGUMENTS "}}]},"
        "{'role':'tool','name':'f','content':42}]}",
        "<bos><|turn>user\nv<turn|>\n<|turn>model\n<|tool_call>call:f{big:1e+16,f:false,"
        "float:1.0,huge_int:12345678901234567890,int:20,list:[1," Q "a" Q ",[true]],n:None,"
        "neg_zero:0,obj:{a:2,Z:1},s:" Q "say \"hi\", {ok}: yes" Q ",small:1e-05,t:true}"
        "<tool_call|><|tool_response>response:f{value:42}<tool_response|>");
}

/* ---- invalid requests --------------------------------------------------------------------- */

#define USER "{'role':'user','content':'hi'}"
#define CALLING(call) "{'messages':[" USER ",{'role':'assistant','tool_calls':[" call "]}]}"

static void test_invalid_requests(void)
{
    expect_render_error("[1,2]", "request: expected a JSON object, got an array");
    expect_render_error("{'messages': [", "request: invalid JSON at byte");
    expect_render_error("{'messages':[" USER "]} x", "unexpected text after the JSON value");
    expect_render_error("{'messages':[" USER "],'n':01}", "invalid number '01'");
    expect_render_error("{}", "messages: missing");
    expect_render_error("{'messages':{}}", "messages: expected an array, got an object");
    expect_render_error("{'messages':[]}", "messages: must not be empty");
    expect_render_error("{'messages':['hi']}", "messages[0]: expected an object, got a string");
    expect_render_error("{'messages':[{'content':'x'}]}", "messages[0].role: missing");
    expect_render_error("{'messages':[" USER "," USER ",{'role':'robot','content':'x'}]}",
                        "messages[2].role: unknown role 'robot'");
    expect_render_error("{'messages':[{'role':'user','content':5}]}",
                        "messages[0].content: expected a string or an array of parts, "
                        "got a number");
    expect_render_error("{'messages':[{'role':'user','content':{'text':'x'}}]}",
                        "messages[0].content: expected a string or an array of parts, "
                        "got an object");
    expect_render_error("{'messages':[{'role':'user','content':['x']}]}",
                        "messages[0].content[0]: expected an object, got a string");
    expect_render_error("{'messages':[{'role':'user','content':[{'type':'text'}]}]}",
                        "messages[0].content[0].text: missing");
    expect_render_error("{'messages':[{'role':'user','content':[{'text':'x'}]}]}",
                        "messages[0].content[0].type: missing");
    expect_render_error("{'messages':[" USER ",{'role':'assistant','tool_calls':{}}]}",
                        "messages[1].tool_calls: expected an array, got an object");
    expect_render_error(CALLING("{'type':'function'}"),
                        "messages[1].tool_calls[0].function: missing");
    expect_render_error(CALLING("{'function':{'name':3}}"),
                        "messages[1].tool_calls[0].function.name: expected a string, got a number");
    expect_render_error(CALLING("{'function':{'name':'f','arguments':'{bad'}}"),
                        "messages[1].tool_calls[0].function.arguments: invalid JSON at byte");
    expect_render_error(CALLING("{'function':{'name':'f','arguments':'[1]'}}"),
                        "function.arguments: expected a JSON object, got an array");
    expect_render_error(CALLING("{'function':{'name':'f','arguments':5}}"),
                        "function.arguments: expected an object or a JSON string, got a number");
    expect_render_error("{'messages':[" USER ",{'role':'assistant','reasoning_content':5}]}",
                        "messages[1].reasoning_content: expected a string, got a number");
    expect_render_error("{'messages':[" USER ",{'role':'assistant','tool_calls':[{'id':'a',"
                        "'function':{'name':'f'}}]},{'role':'tool','tool_call_id':'b',"
                        "'content':'x'}]}",
                        "messages[2]: tool result has no name");
    expect_render_error("{'messages':[" USER "],'tools':{}}",
                        "tools: expected an array, got an object");
    expect_render_error("{'messages':[" USER "],'tools':[{'type':'function'}]}",
                        "tools[0].function: missing");
    expect_render_error("{'messages':[" USER "],'tools':[{'function':{'name':'f',"
                        "'parameters':{'properties':[1]}}}]}",
                        "tools[0].function.parameters.properties: expected an object, "
                        "got an array");
    expect_render_error("{'messages':[" USER "],'tools':[{'function':{'name':'f',"
                        "'parameters':{'properties':{'o':{'type':'object','required':5}}}}}]}",
                        "tools[0].function.parameters: 'required' must be a list");
    expect_render_error("{'messages':[" USER "],'enable_thinking':'yes'}",
                        "enable_thinking: expected a boolean, got a string");
    expect_render_error("{'messages':[" USER "],'kwargs':{'enable_thinking':1}}",
                        "kwargs.enable_thinking: expected a boolean, got a number");

    char *prompt = (char *)"untouched";
    g4_err err = {0};
    CHECK(chat_render(NULL, 0, &prompt, &err) != G4_OK);
    CHECK(chat_render_json(NULL, &prompt, &err) == G4_ERR_FORMAT && prompt == NULL);
}

static char *repeat(const char *unit, size_t times, const char *prefix, const char *suffix)
{
    size_t unit_len = strlen(unit), pre = strlen(prefix), post = strlen(suffix);
    char *text = malloc(pre + unit_len * times + post + 1);
    memcpy(text, prefix, pre);
    for (size_t i = 0; i < times; i++)
        memcpy(text + pre + i * unit_len, unit, unit_len);
    memcpy(text + pre + unit_len * times, suffix, post + 1);
    return text;
}

static void test_hostile_requests(void)
{
    /* 10000 levels of nesting in the text: refused by the JSON parser. */
    char *deep = swap_quotes(repeat("[", 10000, "{'messages':[" USER "],'x':", ""));
    g4_err err = {0};
    char *prompt = NULL;
    CHECK(chat_render(deep, strlen(deep), &prompt, &err) == G4_ERR_FORMAT && !prompt);
    free(deep);

    /* The same depth built as a tree: refused by the renderer's own limit. */
    char *shallow = json_copy("{'messages':[" USER "]}");
    cJSON *request = cJSON_Parse(shallow);
    free(shallow);
    cJSON *nest = cJSON_CreateArray();
    cJSON_AddItemToObject(request, "x", nest);
    for (int i = 0; i < 10000; i++) {
        cJSON *inner = cJSON_CreateArray();
        cJSON_AddItemToArray(nest, inner);
        nest = inner;
    }
    CHECK(chat_render_json(request, &prompt, &err) == G4_ERR_FORMAT && !prompt);
    CHECK(strstr(err.msg, "nested more than") != NULL);
    cJSON_Delete(request);

    /* Deep arguments inside a JSON string. */
    char *deep_args = swap_quotes(repeat("[", 5000, "{'messages':[" USER ",{'role':'assistant',"
                                         "'tool_calls':[{'function':{'name':'f','arguments':'",
                                         "'}}]}]}"));
    CHECK(chat_render(deep_args, strlen(deep_args), &prompt, &err) == G4_ERR_FORMAT && !prompt);
    free(deep_args);

    /* A 16 MiB message renders whole. */
    size_t big = 16u << 20;
    char *huge = swap_quotes(
        repeat("ab", big / 2, "{'messages':[{'role':'user','content':'  ", "  '}]}"));
    g4_status st = chat_render(huge, strlen(huge), &prompt, &err);
    CHECK_MSG(st == G4_OK, "%s", err.msg);
    if (st == G4_OK) {
        size_t header = strlen("<bos><|turn>user\n");
        CHECK(strlen(prompt) == header + big + strlen("<turn|>\n" NO_THINKING));
        CHECK(memcmp(prompt + header, "abab", 4) == 0 && prompt[header + big] == '<');
    }
    free(prompt);
    free(huge);

    /* Many messages, many tool results. */
    char *many = swap_quotes(repeat("{'role':'tool','name':'f','content':'r'},", 20000,
                                    "{'messages':[" USER ",{'role':'assistant','tool_calls':"
                                    "[{'function':{'name':'f'}}]},", USER "]}"));
    st = chat_render(many, strlen(many), &prompt, &err);
    CHECK_MSG(st == G4_OK, "%s", err.msg);
    free(prompt);
    free(many);
}

/* ---- reply parsing ------------------------------------------------------------------------ */

static g4_chat_reply parse(const char *text)
{
    g4_chat_reply reply;
    g4_err err = {0};
    g4_status st = chat_parse_reply(text, strlen(text), &reply, &err);
    CHECK_MSG(st == G4_OK, "%s", err.msg);
    return reply;
}

static bool text_is(const char *got, const char *want)
{
    return got && strcmp(got, want) == 0;
}

static void test_reply_text(void)
{
    g4_chat_reply r = parse("The sea is calm.<turn|>");
    CHECK(text_is(r.content, "The sea is calm.") && !r.reasoning && r.n_tool_calls == 0);
    chat_reply_clear(&r);

    r = parse("<|channel>thought\nLet me think.\n<channel|>The answer is 391.<turn|><eos>");
    CHECK(text_is(r.reasoning, "Let me think."));
    CHECK(text_is(r.content, "The answer is 391."));
    chat_reply_clear(&r);

    r = parse("<|channel>thought\n<channel|>Hello<eos>");
    CHECK(!r.reasoning && text_is(r.content, "Hello"));
    chat_reply_clear(&r);

    r = parse("<|channel>thought\nstill thinking");
    CHECK(text_is(r.reasoning, "still thinking") && text_is(r.content, ""));
    chat_reply_clear(&r);

    r = parse("");
    CHECK(text_is(r.content, "") && !r.reasoning && r.n_tool_calls == 0);
    chat_reply_clear(&r);
}

static const cJSON *member(const cJSON *object, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(object, key);
}

static bool member_text_is(const cJSON *object, const char *key, const char *text)
{
    const cJSON *value = member(object, key);
    return cJSON_IsString(value) && strcmp(value->valuestring, text) == 0;
}

static bool member_number_is(const cJSON *object, const char *key, double number)
{
    const cJSON *value = member(object, key);
    return cJSON_IsNumber(value) && value->valuedouble == number;
}

static void test_reply_tool_calls(void)
{
    g4_chat_reply r = parse(
        "<|channel>thought\nBooking.<channel|><|tool_call>call:book{guests:[{age:30,name:" Q "Ann"
        Q "},{age:null,name:" Q "Bo, \"B\" {x}: y" Q "}],options:{refundable:true,notes:" Q
        "back\\slash\nline" Q "},count:2,price:-1.5e3,unit:celsius}<tool_call|><|tool_response>");
    CHECK(text_is(r.reasoning, "Booking.") && text_is(r.content, ""));
    CHECK(r.n_tool_calls == 1);
    if (r.n_tool_calls == 1) {
        CHECK(text_is(r.tool_calls[0].name, "book"));
        cJSON *args = cJSON_Parse(r.tool_calls[0].arguments_json);
        CHECK_MSG(cJSON_IsObject(args), "%s", r.tool_calls[0].arguments_json);
        const cJSON *guests = member(args, "guests");
        CHECK(cJSON_GetArraySize(guests) == 2);
        const cJSON *ann = cJSON_GetArrayItem(guests, 0), *bo = cJSON_GetArrayItem(guests, 1);
        CHECK(member_number_is(ann, "age", 30));
        CHECK(member_text_is(ann, "name", "Ann"));
        CHECK(cJSON_IsNull(member(bo, "age")));
        CHECK(member_text_is(bo, "name", "Bo, \"B\" {x}: y"));
        const cJSON *options = member(args, "options");
        CHECK(cJSON_IsTrue(member(options, "refundable")));
        CHECK(member_text_is(options, "notes", "back\\slash\nline"));
        CHECK(member_number_is(args, "count", 2));
        CHECK(member_number_is(args, "price", -1500));
        CHECK(member_text_is(args, "unit", "celsius"));
        cJSON_Delete(args);
    }
    chat_reply_clear(&r);

    r = parse("Checking.<|tool_call>call:a{x:{y:[1,{z:" Q "w" Q "}]},n:-0.5}<tool_call|>"
              "<|tool_call>call:b{}<tool_call|>");
    CHECK(text_is(r.content, "Checking.") && r.n_tool_calls == 2);
    if (r.n_tool_calls == 2) {
        CHECK(text_is(r.tool_calls[0].name, "a"));
        CHECK(text_is(r.tool_calls[0].arguments_json,
                      "{\"x\":{\"y\":[1,{\"z\":\"w\"}]},\"n\":-0.5}"));
        CHECK(text_is(r.tool_calls[1].name, "b") && text_is(r.tool_calls[1].arguments_json, "{}"));
    }
    chat_reply_clear(&r);

    /* Complete arguments whose closing marker was cut off still make a call. */
    r = parse("<|tool_call>call:f{a:1}");
    CHECK(r.n_tool_calls == 1 && text_is(r.content, ""));
    chat_reply_clear(&r);
}

static void test_reply_malformed_calls(void)
{
    const char *cut = "<|tool_call>call:get_weather{location:" Q "Par";
    g4_chat_reply r = parse(cut);
    CHECK(r.n_tool_calls == 0 && text_is(r.content, cut));
    chat_reply_clear(&r);

    r = parse("<|tool_call>call:{x:1}<tool_call|><|tool_call>call:ok{y:" Q "z" Q "}<tool_call|>");
    CHECK(r.n_tool_calls == 1 && text_is(r.content, "<|tool_call>call:{x:1}<tool_call|>"));
    if (r.n_tool_calls == 1)
        CHECK(text_is(r.tool_calls[0].arguments_json, "{\"y\":\"z\"}"));
    chat_reply_clear(&r);

    static const char *const broken[] = {
        "<|tool_call>", "<|tool_call>call:", "<|tool_call>call:f", "<|tool_call>call:f{",
        "<|tool_call>call:f{a", "<|tool_call>call:f{a:", "<|tool_call>call:f{a:1,",
        "<|tool_call>call:f{a:[1,2", "<|tool_call>call:f{:1}<tool_call|>",
        "<|tool_call>call:f{a:1}}<tool_call|>", "<|tool_call>call:f{a:" Q "x}<tool_call|>",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        r = parse(broken[i]);
        CHECK_MSG(r.n_tool_calls == 0 && text_is(r.content, broken[i]), "%s", broken[i]);
        chat_reply_clear(&r);
    }

    char *deep = repeat("[", 10000, "<|tool_call>call:f{a:", "");
    r = parse(deep);
    CHECK(r.n_tool_calls == 0 && text_is(r.content, deep));
    chat_reply_clear(&r);
    free(deep);

    char *many = repeat("<|tool_call>call:f{a:" Q "x, y" Q "}<tool_call|>", 10000, "", "<eos>");
    r = parse(many);
    CHECK(r.n_tool_calls == 10000);
    chat_reply_clear(&r);
    free(many);
}

/* Arguments rendered into a prompt by the template syntax parse back to the same JSON. */
static void test_reply_round_trip(void)
{
    char *request =
        json_copy(CALLING("{'function':{'name':'f','arguments':" VALUES_ARGUMENTS "}}"));
    char *prompt = NULL;
    g4_err err = {0};
    CHECK(chat_render(request, strlen(request), &prompt, &err) == G4_OK);
    const char *call = prompt ? strstr(prompt, "<|tool_call>") : NULL;
    CHECK(call != NULL);
    if (call) {
        g4_chat_reply r = parse(call);
        CHECK(r.n_tool_calls == 1);
        char *arguments = json_copy(VALUES_ARGUMENTS);
        cJSON *want = cJSON_Parse(arguments);
        cJSON *got = r.n_tool_calls ? cJSON_Parse(r.tool_calls[0].arguments_json) : NULL;
        CHECK_MSG(cJSON_Compare(want, got, true), "%s",
                  r.n_tool_calls ? r.tool_calls[0].arguments_json : "");
        cJSON_Delete(want);
        cJSON_Delete(got);
        free(arguments);
        chat_reply_clear(&r);
    }
    free(prompt);
    free(request);
}

static void test_public_reply_api(void)
{
    g4_chat_reply r;
    CHECK(g4_chat_parse_reply(NULL, &r) == G4_ERR_INVALID_ARG);
    CHECK(g4_last_error()[0] != '\0');
    CHECK(g4_chat_parse_reply("<|channel>thought\nx<channel|>y<turn|>", &r) == G4_OK);
    CHECK(g4_last_error()[0] == '\0');
    CHECK(text_is(r.reasoning, "x") && text_is(r.content, "y"));
    g4_chat_reply_clear(&r);
    CHECK(r.content == NULL && r.tool_calls == NULL);
    g4_chat_reply_clear(&r);
}

int main(void)
{
    test_reference_renderings();
    test_nested_tool_declarations();
    test_tool_declaration_quirks();
    test_roles_and_parts();
    test_tool_call_turns();
    test_thinking_history();
    test_value_formatting();
    test_invalid_requests();
    test_hostile_requests();
    test_reply_text();
    test_reply_tool_calls();
    test_reply_malformed_calls();
    test_reply_round_trip();
    test_public_reply_api();
    return test_finish("test_chat");
}
