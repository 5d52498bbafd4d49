// The page's one script, served from /assets/page.js (the Content-Security-Policy allows
// no inline script). It does two things the page cannot do without one: it brings the
// first message of a refused form into view, and it sends the import template to
// /api/imports, checked first (a dry run), then imported, saying the outcome in place.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A refused form or a held-back repeat: scroll to the first message, focus its field.
  const first = document.querySelector(".same, .error");
  if (first) {
    first.scrollIntoView({ block: "center" });
    const field = first.previousElementSibling && first.previousElementSibling.querySelector("input, select, textarea");
    if (field) field.focus({ preventScroll: true });
  }

  const form = document.getElementById("upload");
  if (!form) return;
  const file = document.getElementById("upload-file");
  const check = document.getElementById("upload-check");
  const importButton = document.getElementById("upload-import");
  const result = document.getElementById("upload-result");
  const say = (key, values) =>
    form.dataset[key].replace(/\{(\w+)\}/g, (_, k) => (values && k in values ? values[k] : ""));
  const show = (cls, text) => {
    result.replaceChildren();
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    result.appendChild(p);
    return p;
  };
  const typeOf = (name) => {
    const lower = name.toLowerCase();
    if (lower.endsWith(".csv")) return "text/csv";
    if (lower.endsWith(".jsonl")) return "application/x-ndjson";
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  };
  const send = async (dryRun) => {
    const chosen = file.files[0];
    if (!chosen) return;
    importButton.disabled = true;
    show("words", say(dryRun ? "checking" : "importing"));
    const params = new URLSearchParams({ name: chosen.name, dry_run: dryRun ? "true" : "false" });
    let answer;
    try {
      const resp = await fetch("/api/imports?" + params, {
        method: "POST",
        headers: { "Content-Type": typeOf(chosen.name) },
        body: chosen,
        credentials: "same-origin",
      });
      answer = { ok: resp.ok, body: await resp.json() };
    } catch (e) {
      show("error", say("failed") + e);
      return;
    }
    const body = answer.body;
    if (answer.ok) {
      show("ok", say(dryRun ? "checked" : "imported", body));
      result.scrollIntoView({ block: "nearest" });
      if (dryRun) {
        importButton.disabled = false;
      } else {
        const a = document.createElement("a");
        a.href = window.location.pathname + window.location.search + "#latest";
        a.textContent = say("reload");
        a.addEventListener("click", () => window.location.reload());
        result.appendChild(a);
      }
      return;
    }
    // Refused: every problem listed as text, where the file was chosen.
    const problems = body.errors || [];
    show("error", problems.length ? say("refused", { total: parseInt(body.detail, 10) || problems.length }) : say("failed") + (body.detail || body.title));
    const list = document.createElement("ul");
    list.className = "error";
    for (const p of problems) {
      const li = document.createElement("li");
      li.textContent = p.field + "：" + p.reason;
      list.appendChild(li);
    }
    result.appendChild(list);
    result.scrollIntoView({ block: "nearest" });
  };
  check.addEventListener("click", () => send(true));
  importButton.addEventListener("click", () => send(false));
  file.addEventListener("change", () => {
    importButton.disabled = true;
    result.replaceChildren();
  });
});
