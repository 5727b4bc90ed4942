"use strict";
/* A small Markdown renderer for the model's answers, which are untrusted: every piece of
 * text is HTML-escaped before any tag of ours is put around it, and links keep only
 * http(s), mailto and relative targets. Handles headings, paragraphs, emphasis (**, *, __,
 * _, ~~), code spans, fenced code blocks (an unclosed fence runs to the end, as while an
 * answer streams), ordered and unordered lists (nested by indentation), block quotes,
 * rules and links. renderMarkdown(text) returns an HTML string. */

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

/* A link target the page may follow: no spaces or control characters (browsers strip
 * some of them, which could hide a scheme), and a scheme, if any, of http, https or mailto. */
function isSafeUrl(url) {
  if (/[\u0000-\u0020\u007f-\u009f]/.test(url)) return false;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return !scheme || /^(https?|mailto)$/i.test(scheme[1]);
}

function renderEmphasis(escaped) {
  return escaped
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|\W)__(?=\S)([\s\S]*?\S)__(?!\w)/g, "$1<strong>$2</strong>")
    .replace(/(^|[^*\w])\*(?=[^\s*])([^*]*?[^\s*])\*(?![*\w])/g, "$1<em>$2</em>")
    .replace(/(^|\W)_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "<del>$1</del>");
}

/* Text without code spans: links, then escaped and emphasised text around them. */
function renderLinksAndText(text) {
  const link = /\[([^\[\]\n]+)\]\(([^()\s]+)\)/g;
  let html = "";
  let last = 0;
  for (let m; (m = link.exec(text)) !== null;) {
    html += renderEmphasis(escapeHtml(text.slice(last, m.index)));
    const label = renderEmphasis(escapeHtml(m[1]));
    html += isSafeUrl(m[2])
      ? `<a href="${escapeHtml(m[2])}" target="_blank" rel="noopener noreferrer">${label}</a>`
      : label;
    last = link.lastIndex;
  }
  return html + renderEmphasis(escapeHtml(text.slice(last)));
}

function renderInline(text) {
  const codeSpan = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g;
  let html = "";
  let last = 0;
  for (let m; (m = codeSpan.exec(text)) !== null;) {
    html += renderLinksAndText(text.slice(last, m.index));
    html += `<code>${escapeHtml(m[2].replace(/^ (.*) $/s, "$1"))}</code>`;
    last = codeSpan.lastIndex;
  }
  return html + renderLinksAndText(text.slice(last)).replace(/\n/g, "<br>\n");
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const MAX_NESTING = 8;

function indentOf(line) {
  return line.replace(/\t/g, "    ").match(/^ */)[0].length;
}

/* Lines [start, end) of a fenced block opened at lines[start]. */
function fencedBlock(lines, start) {
  const [, fence, info] = FENCE.exec(lines[start]);
  const closing = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
  let end = start + 1;
  while (end < lines.length && !closing.test(lines[end])) end++;
  const language = info.replace(/[^\w+#.-]/g, "");
  const cls = language ? ` class="language-${escapeHtml(language)}"` : "";
  const code = escapeHtml(lines.slice(start + 1, end).join("\n"));
  return { html: `<pre><code${cls}>${code}</code></pre>\n`, next: Math.min(end + 1, lines.length) };
}

/* A list starting at lines[start]: its items, each with the lines that continue it
 * (indented deeper, or not blank and not a new item); deeper items become a nested list. */
function listBlock(lines, start, depth) {
  const first = LIST_ITEM.exec(lines[start]);
  const indent = indentOf(first[1]);
  const ordered = /\d/.test(first[2]);
  const items = [];
  let i = start;
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || indentOf(m[1]) !== indent || /\d/.test(m[2]) !== ordered) break;
    const body = [m[3]];
    for (i++; i < lines.length; i++) {
      const line = lines[i];
      const nested = LIST_ITEM.exec(line);
      if (nested && indentOf(nested[1]) <= indent) break;
      if (line.trim() === "") {
        if (i + 1 < lines.length && indentOf(lines[i + 1]) > indent && lines[i + 1].trim()) continue;
        break;
      }
      if (!nested && indentOf(line) <= indent && isBlockStart(line)) break;
      body.push(line.trim() === "" ? "" : line.slice(Math.min(indentOf(line), indent + 2)));
    }
    items.push(`<li>${renderItem(body, depth)}</li>`);
    while (i < lines.length && lines[i].trim() === "" && LIST_ITEM.test(lines[i + 1] || "")) i++;
  }
  const tag = ordered ? "ol" : "ul";
  const startNumber = ordered ? parseInt(first[2], 10) : 1;
  const startAttr = ordered && startNumber !== 1 ? ` start="${startNumber}"` : "";
  return { html: `<${tag}${startAttr}>\n${items.join("\n")}\n</${tag}>\n`, next: i };
}

/* An item's first paragraph stays inline; nested lists or blocks after it render as blocks. */
function renderItem(body, depth) {
  const firstBlock = body.findIndex((line, k) => k > 0 && (LIST_ITEM.test(line) || FENCE.test(line)));
  if (firstBlock < 0) return renderInline(body.join("\n").trim());
  return renderInline(body.slice(0, firstBlock).join("\n").trim()) + "\n" +
         renderBlocks(body.slice(firstBlock), depth + 1);
}

function isBlockStart(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
         LIST_ITEM.test(line);
}

function quoteBlock(lines, start, depth) {
  const inner = [];
  let i = start;
  for (; i < lines.length && QUOTE.test(lines[i]); i++) inner.push(QUOTE.exec(lines[i])[1]);
  return { html: `<blockquote>\n${renderBlocks(inner, depth + 1)}</blockquote>\n`, next: i };
}

function paragraphBlock(lines, start) {
  let i = start + 1;
  while (i < lines.length && lines[i].trim() !== "" && !isBlockStart(lines[i])) i++;
  return { html: `<p>${renderInline(lines.slice(start, i).join("\n").trim())}</p>\n`, next: i };
}

function renderBlock(lines, i, depth) {
  const line = lines[i];
  if (FENCE.test(line)) return fencedBlock(lines, i);
  const heading = HEADING.exec(line);
  if (heading) {
    const level = heading[1].length;
    return { html: `<h${level}>${renderInline(heading[2])}</h${level}>\n`, next: i + 1 };
  }
  if (RULE.test(line)) return { html: "<hr>\n", next: i + 1 };
  if (QUOTE.test(line)) return quoteBlock(lines, i, depth);
  if (LIST_ITEM.test(line)) return listBlock(lines, i, depth);
  return paragraphBlock(lines, i);
}

/* Quotes and lists nest at most MAX_NESTING deep; deeper lines stay text. */
function renderBlocks(lines, depth) {
  if (depth > MAX_NESTING) return `<p>${renderInline(lines.join("\n").trim())}</p>\n`;
  let html = "";
  for (let i = 0; i < lines.length;) {
    if (lines[i].trim() === "") { i++; continue; }
    const block = renderBlock(lines, i, depth);
    html += block.html;
    i = block.next;
  }
  return html;
}

function renderMarkdown(text) {
  return renderBlocks(String(text).replace(/\r\n?/g, "\n").split("\n"), 0);
}
