"""Drives libg4 through its C ABI from Python (ctypes): load the tiny model, render a chat
request, tokenize, generate a few tokens greedily with streaming, and check the errors a
foreign caller sees. Usage: ffi_generate.py LIBG4.so TEST_DATA_DIR"""
import ctypes as C
import json
import os
import sys

lib = C.CDLL(sys.argv[1])
data = sys.argv[2]

G4_OK = 0
failures = 0
passed = 0


def check(cond, what):
    global failures, passed
    if cond:
        passed += 1
    else:
        failures += 1
        print("FAIL:", what, "|", lib.g4_last_error().decode(errors="replace"))


class ModelParams(C.Structure):
    _fields_ = [("n_threads", C.c_int), ("exact_math", C.c_bool),
                ("progress", C.c_void_p), ("progress_user", C.c_void_p)]


class SessionParams(C.Structure):
    _fields_ = [("n_ctx", C.c_uint32), ("n_batch", C.c_uint32)]


class SamplerParams(C.Structure):
    _fields_ = [("temperature", C.c_float), ("top_k", C.c_int32), ("top_p", C.c_float),
                ("min_p", C.c_float), ("repeat_penalty", C.c_float),
                ("presence_penalty", C.c_float), ("frequency_penalty", C.c_float),
                ("penalty_last_n", C.c_int32), ("seed", C.c_uint64)]


TEXT_FN = C.CFUNCTYPE(C.c_bool, C.POINTER(C.c_char), C.c_size_t, C.c_void_p)


class GenerateParams(C.Structure):
    _fields_ = [("max_tokens", C.c_int32), ("stop_strings", C.c_void_p),
                ("n_stop_strings", C.c_size_t), ("show_special", C.c_bool),
                ("on_text", TEXT_FN), ("user", C.c_void_p), ("draft_max", C.c_int32),
                ("draft_min", C.c_int32), ("draft_fixed", C.c_bool)]


class GenerateStats(C.Structure):
    _fields_ = [("prompt_tokens", C.c_uint32), ("generated_tokens", C.c_uint32),
                ("prompt_seconds", C.c_double), ("generate_seconds", C.c_double),
                ("stopped_by_eog", C.c_bool), ("stopped_by_string", C.c_bool),
                ("draft_steps", C.c_uint32), ("drafted_tokens", C.c_uint32),
                ("accepted_tokens", C.c_uint32), ("draft_seconds", C.c_double),
                ("verify_seconds", C.c_double)]


lib.g4_last_error.restype = C.c_char_p
lib.g4_version.restype = C.c_char_p
lib.g4_model_load.argtypes = [C.c_char_p, C.POINTER(ModelParams), C.POINTER(C.c_void_p)]
lib.g4_model_vocab_size.argtypes = [C.c_void_p]
lib.g4_model_free.argtypes = [C.c_void_p]
lib.g4_chat_render.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(C.c_char_p)]
lib.g4_tokenize.argtypes = [C.c_void_p, C.c_char_p, C.c_size_t, C.c_bool, C.c_bool,
                            C.POINTER(C.POINTER(C.c_int32)), C.POINTER(C.c_size_t)]
lib.g4_free.argtypes = [C.c_void_p]
lib.g4_session_new.argtypes = [C.c_void_p, C.POINTER(SessionParams), C.POINTER(C.c_void_p)]
lib.g4_session_free.argtypes = [C.c_void_p]
lib.g4_session_decode.argtypes = [C.c_void_p, C.POINTER(C.c_int32), C.c_size_t, C.c_void_p]
lib.g4_sampler_params_init.argtypes = [C.POINTER(SamplerParams)]
lib.g4_sampler_new.argtypes = [C.POINTER(SamplerParams), C.c_int32, C.POINTER(C.c_void_p)]
lib.g4_sampler_free.argtypes = [C.c_void_p]
lib.g4_generate.argtypes = [C.c_void_p, C.c_void_p, C.POINTER(C.c_int32), C.c_size_t,
                            C.POINTER(GenerateParams), C.POINTER(GenerateStats)]

check(lib.g4_version().decode().count(".") == 2, "version string")

# A missing file is an error with a message, not a crash.
model = C.c_void_p()
check(lib.g4_model_load(b"/nonexistent/model.gguf", None, C.byref(model)) != G4_OK,
      "loading a missing file fails")
check(b"nonexistent" in lib.g4_last_error(), "the error names the file")

params = ModelParams(n_threads=2)
st = lib.g4_model_load(os.path.join(data, "tiny-gemma4u-bf16.gguf").encode(), C.byref(params),
                       C.byref(model))
check(st == G4_OK, "load the tiny model")
check(lib.g4_model_vocab_size(model) == 262144, "vocabulary size")

request = json.dumps({"messages": [{"role": "user", "content": "Write a haiku about the sea."}]})
prompt = C.c_char_p()
check(lib.g4_chat_render(model, request.encode(), C.byref(prompt)) == G4_OK, "render")
text = prompt.value
check(text.startswith(b"<bos><|turn>user\nWrite a haiku"), "rendered prompt")

ids = C.POINTER(C.c_int32)()
n = C.c_size_t()
check(lib.g4_tokenize(model, text, len(text), False, True, C.byref(ids), C.byref(n)) == G4_OK,
      "tokenize")
prompt_ids = [ids[i] for i in range(n.value)]
check(prompt_ids[:3] == [2, 105, 2364], "prompt ids start with <bos> <|turn> user")

session = C.c_void_p()
check(lib.g4_session_new(model, C.byref(SessionParams(n_ctx=128)), C.byref(session)) == G4_OK,
      "session")

bad = (C.c_int32 * 1)(262144)
check(lib.g4_session_decode(session, bad, 1, None) != G4_OK, "an out-of-range id is refused")
check(b"outside the vocabulary" in lib.g4_last_error(), "error names the problem")

sp = SamplerParams()
lib.g4_sampler_params_init(C.byref(sp))
sp.temperature = 0.0
sampler = C.c_void_p()
check(lib.g4_sampler_new(C.byref(sp), lib.g4_model_vocab_size(model), C.byref(sampler)) == G4_OK,
      "sampler")

pieces = []


@TEXT_FN
def on_text(ptr, length, user):
    pieces.append(C.string_at(ptr, length))
    return True


gp = GenerateParams(max_tokens=5, on_text=on_text)
stats = GenerateStats()
check(lib.g4_generate(session, sampler, ids, n, C.byref(gp), C.byref(stats)) == G4_OK,
      "generate")
check(stats.prompt_tokens == len(prompt_ids), "prompt token count")
check(stats.generated_tokens == 5, "five tokens generated (greedy, random weights: no EOG)")
check(len(b"".join(pieces)) > 0, "streamed text arrived")
# The reference (HF transformers) continues this prompt greedily with these ids.
lib.g4_token_to_bytes.argtypes = [C.c_void_p, C.c_int32, C.c_bool, C.c_char_p, C.c_size_t]
expected = b""
for token in [208621, 208621, 253674, 237921, 28291]:
    buf = C.create_string_buffer(256)
    size = lib.g4_token_to_bytes(model, token, False, buf, 256)
    expected += buf.raw[:size]
check(b"".join(pieces) == expected, "streamed text is the reference's greedy continuation")

lib.g4_free(ids)
lib.g4_free(prompt)
lib.g4_sampler_free(sampler)
lib.g4_session_free(session)
lib.g4_model_free(model)
print(f"ffi_generate: {passed} passed, {failures} failed")
sys.exit(1 if failures else 0)
