"""The demo's one page: upload a file, see LR | SR side by side, the text read, download links.

Plain HTML, CSS and JavaScript (no framework, nothing fetched from elsewhere). The script posts the
file's bytes to ``/api/process`` and fills the page from the JSON answer.
"""

from __future__ import annotations

import html

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sgenet demo: scene text super-resolution</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em;
        color: #222; }
 h1 { font-size: 1.4em; margin-bottom: .2em; }
 .sub { color: #666; margin-top: 0; }
 #drop { border: 2px dashed #999; border-radius: 8px; padding: 1.2em; text-align: center;
         background: #fafafa; }
 #drop.over { background: #eef6ff; border-color: #36c; }
 .opts { margin: .6em 0; color: #444; }
 .opts label { margin-right: 1.2em; }
 #status { min-height: 1.4em; margin: .6em 0; color: #555; }
 #error { color: #b00020; font-weight: 600; }
 .pair { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
 figure { margin: 0; max-width: 100%; }
 figcaption { font-size: .85em; color: #666; margin-bottom: .3em; }
 .crop img { height: 96px; width: auto; max-width: 100%; object-fit: contain; background: #fff;
             border: 1px solid #ddd; }
 .crop #lr-img { image-rendering: pixelated; }
 .photo img { max-width: 520px; width: 100%; height: auto; border: 1px solid #ddd; }
 #sr-sheet-fig { margin-top: 1em; }
 #sr-sheet-fig img { max-width: 100%; height: auto; border: 1px solid #ddd; }
 #text { font-size: 1.6em; font-weight: 700; font-family: ui-monospace, monospace; }
 table { border-collapse: collapse; margin-top: .5em; }
 td, th { border-bottom: 1px solid #eee; padding: .2em .8em; text-align: left; font-size: .9em; }
 .hidden { display: none !important; }
 #downloads a { margin-right: 1.2em; }
</style>
</head>
<body>
<h1>sgenet demo</h1>
<p class="sub">Scene text super-resolution (SGENet, __VERSION__). Drop a word crop (at most
__CROP_MAX__ px high in auto mode) or a photo; nothing leaves this machine.</p>
<div id="drop">
  <p>Drop an image here, or <input type="file" id="file" accept="image/*"></p>
  <div class="opts">
    <label>kind: <select id="mode">
      <option value="auto" selected>auto</option><option value="crop">word crop</option>
      <option value="photo">photo</option></select></label>
    <label><input type="checkbox" id="sr-always"> super-resolve tall crops</label>
    <span>limit __MAX_MB__ MB; photos: __PHOTOS__</span>
  </div>
</div>
<div id="status"></div>
<div id="error" role="alert"></div>
<section id="result" class="hidden">
  <div class="pair" id="pair">
    <figure><figcaption id="lr-caption">LR (input)</figcaption><img id="lr-img" alt="LR input"></figure>
    <figure id="sr-fig"><figcaption id="sr-caption">SR</figcaption><img id="sr-img" alt="SR output"></figure>
  </div>
  <h2>Text read</h2>
  <div id="text"></div>
  <div id="note"></div>
  <table id="readings" class="hidden"></table>
  <table id="words" class="hidden"></table>
  <p id="downloads"><a id="download-sr" class="hidden">download the SR image</a>
    <a id="download-annotated" class="hidden">download the annotated picture</a>
    <a id="download-json" class="hidden">download the words (JSON)</a></p>
</section>
<script>
"use strict";
const MAX_BYTES = __MAX_BYTES__;
const $ = (id) => document.getElementById(id);
function show(el, on) { el.classList.toggle("hidden", !on); }
function link(id, url, name) {
  const a = $(id); show(a, Boolean(url));
  if (url) { a.href = url; a.download = name; }
}
function cell(row, text, tag) {
  const c = document.createElement(tag || "td"); c.textContent = text; row.appendChild(c); return c;
}
function render(data) {
  const photo = data.kind === "photo";
  $("pair").className = "pair " + (photo ? "photo" : "crop");
  $("lr-img").src = data.urls.lr;
  $("lr-caption").textContent = photo ? "input photo" : "LR (input)";
  const srUrl = photo ? data.urls.annotated : data.urls.sr;
  $("sr-img").src = srUrl;
  $("sr-img").alt = photo ? "annotated picture" : "SR output";
  $("sr-caption").textContent = photo ? "words read (green: plain crop, magenta: super-resolved)"
      : (data.method === "sr" ? "SR x2 (sgenet)" : "bicubic x2 (crop taller than 16 px)");
  $("text").textContent = data.text || "(no text read)";
  $("note").textContent = data.note + " (" + data.seconds.toFixed(2) + " s)";
  const rt = $("readings"); rt.innerHTML = "";
  const r = data.readings || {};
  if (r.guidance !== undefined) { const row = rt.insertRow(); cell(row, "guidance recognizer (in the model)");
    cell(row, r.guidance); }
  for (const [key, label] of [["ppocr6_lr", "PP-OCRv6 on the LR"], ["ppocr6_sr", "PP-OCRv6 on the SR"]]) {
    if (r[key]) { const row = rt.insertRow(); cell(row, label);
      cell(row, r[key].text + "  (" + r[key].confidence.toFixed(2) + ")"); }
  }
  show(rt, rt.rows.length > 0);
  const wt = $("words"); wt.innerHTML = "";
  if (photo && data.words.length) {
    const head = wt.insertRow();
    for (const h of ["#", "text", "confidence", "read in"]) cell(head, h, "th");
    data.words.forEach((w, i) => { const row = wt.insertRow(); cell(row, String(i + 1)); cell(row, w.text);
      cell(row, w.confidence.toFixed(2)); cell(row, w.sr_used ? "SR crop" : "plain crop"); });
  }
  show(wt, photo && data.words.length > 0);
  if (photo && data.urls.sr) {
    let fig = $("sr-sheet-fig");
    if (!fig) { fig = document.createElement("figure"); fig.id = "sr-sheet-fig";
      fig.innerHTML = "<figcaption>small words: LR | SR</figcaption><img id='sr-sheet' alt='SR words'>";
      $("words").after(fig); }
    show(fig, true); $("sr-sheet").src = data.urls.sr;
  } else if ($("sr-sheet-fig")) { show($("sr-sheet-fig"), false); }
  link("download-sr", data.urls.sr, data.downloads.sr);
  $("download-sr").textContent = photo ? "download the small words, LR | SR" : "download the SR image";
  link("download-annotated", data.urls.annotated, data.downloads.annotated);
  link("download-json", data.urls.json, data.downloads.json);
  show($("result"), true);
}
async function upload(file) {
  $("error").textContent = ""; show($("result"), false);
  if (!file) return;
  if (file.size > MAX_BYTES) {
    $("error").textContent = "the file is " + (file.size / 1e6).toFixed(1) + " MB; the limit is "
        + (MAX_BYTES / 1e6).toFixed(0) + " MB"; return;
  }
  $("status").textContent = "processing " + file.name + " ...";
  const q = new URLSearchParams({mode: $("mode").value, name: file.name,
                                 sr_always: $("sr-always").checked ? "1" : "0"});
  try {
    const resp = await fetch("api/process?" + q, {method: "POST", body: file,
        headers: {"Content-Type": file.type || "application/octet-stream"}});
    const data = await resp.json();
    $("status").textContent = "";
    if (!resp.ok) { $("error").textContent = data.error || ("error " + resp.status); return; }
    render(data);
  } catch (err) {
    $("status").textContent = ""; $("error").textContent = "the server did not answer: " + err;
  }
}
$("file").addEventListener("change", () => upload($("file").files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]); });
</script>
</body>
</html>
"""


def render_page(*, version: str, max_bytes: int, crop_max_height: int, photo_error: str) -> str:
    """The page, with the server's limits filled in."""
    photos = "off (" + photo_error + ")" if photo_error else "on"
    return (PAGE.replace("__VERSION__", html.escape(version))
            .replace("__MAX_BYTES__", str(int(max_bytes)))
            .replace("__MAX_MB__", f"{max_bytes / 1e6:g}")
            .replace("__CROP_MAX__", str(int(crop_max_height)))
            .replace("__PHOTOS__", html.escape(photos)))
