# Turns the chat page into a C source:
#   cmake -DPAGE_DIR=src/server/chat_page -DOUTPUT=chat_page_data.c -P embed.cmake
# index.html's <link rel="stylesheet" href="F"> and <script src="F"></script> are replaced by
# the files' text inline, so the page is one document served from the binary. The output
# defines g4_chat_page / g4_chat_page_len (src/server/chat_page.h) and g4_chat_page_csp, a
# Content-Security-Policy that allows exactly those inline scripts and styles (by SHA-256).
cmake_minimum_required(VERSION 3.20)

# Base64 of the bytes written as hex digits (a SHA-256 digest for the policy).
function(hex_to_base64 hex out)
  set(alphabet "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  string(LENGTH "${hex}" length)
  set(result "")
  set(i 0)
  while(i LESS length)
    string(SUBSTRING "${hex}" ${i} 6 group)
    string(LENGTH "${group}" digits)
    math(EXPR bytes "${digits} / 2")
    math(EXPR value "0x${group} << (8 * (3 - ${bytes}))")
    math(EXPR last_shift "18 - 6 * ${bytes}")
    foreach(shift 18 12 6 0)
      if(shift GREATER_EQUAL last_shift)
        math(EXPR index "(${value} >> ${shift}) & 63")
        string(SUBSTRING "${alphabet}" ${index} 1 char)
      else()
        set(char "=")
      endif()
      string(APPEND result "${char}")
    endforeach()
    math(EXPR i "${i} + 6")
  endwhile()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# Replaces each reference matched by pattern (its first group the file name) in the variable
# html with the file's text between open and close tags; appends each text's hash to hashes.
function(inline_files html_var pattern open close hashes_var)
  set(html "${${html_var}}")
  set(hashes "")
  string(REGEX MATCHALL "${pattern}" references "${html}")
  foreach(reference IN LISTS references)
    string(REGEX REPLACE "${pattern}" "\\1" name "${reference}")
    if(NOT name MATCHES "^[A-Za-z0-9_.-]+$" OR NOT EXISTS "${PAGE_DIR}/${name}")
      message(FATAL_ERROR "chat page: '${name}' is not a file of ${PAGE_DIR}")
    endif()
    file(READ "${PAGE_DIR}/${name}" text)
    string(TOLOWER "${text}" lower)
    string(FIND "${lower}" "</${close}" inner_close)
    if(NOT inner_close EQUAL -1)
      message(FATAL_ERROR "chat page: ${name} contains '</${close}', which would end it early")
    endif()
    string(SHA256 digest "${text}")
    hex_to_base64("${digest}" digest64)
    string(APPEND hashes " 'sha256-${digest64}'")
    string(REPLACE "${reference}" "<${open}>${text}</${close}>" html "${html}")
  endforeach()
  set(${html_var} "${html}" PARENT_SCOPE)
  set(${hashes_var} "${hashes}" PARENT_SCOPE)
endfunction()

file(READ "${PAGE_DIR}/index.html" page)
inline_files(page "<link rel=\"stylesheet\" href=\"([^\"]+)\">" "style" "style" style_hashes)
inline_files(page "<script src=\"([^\"]+)\"></script>" "script" "script" script_hashes)

set(csp "default-src 'none'; script-src${script_hashes}; style-src${style_hashes}; ")
string(APPEND csp "img-src data:; media-src data:; connect-src 'self'; ")
string(APPEND csp "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

# One string literal of \xNN escapes, 32 bytes to a line.
string(HEX "${page}" hex)
string(LENGTH "${hex}" hex_length)
math(EXPR page_length "${hex_length} / 2")
string(REPEAT "." 64 line_of_hex)
string(REGEX REPLACE "(${line_of_hex})" "\\1\n" literal "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" literal "${literal}")
string(REGEX REPLACE "([^\n]+)" "    \"\\1\"" literal "${literal}")

file(WRITE "${OUTPUT}.tmp"
"/* Generated from src/server/chat_page by embed.cmake: do not edit. */
#include \"server/chat_page.h\"

const char g4_chat_page[] =
${literal};
const size_t g4_chat_page_len = ${page_length};
const char g4_chat_page_csp[] =
    \"${csp}\";
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
