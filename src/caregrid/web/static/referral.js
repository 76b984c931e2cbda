// The referral form's diagnosis hints: as the doctor types an ICD-10 code, ask
// /api/referrals/diagnosis-check which catalogs of the network hold it (B2).
// Labels come from data-* attributes of #diagnosis-hint, so the page's language applies.
(function () {
  "use strict";
  var input = document.getElementById("diagnosis_code");
  var hint = document.getElementById("diagnosis-hint");
  if (!input || !hint) return;
  var d = hint.dataset;
  var kindNames = {};
  try { kindNames = JSON.parse(d.kindNames || "{}"); } catch (e) { kindNames = {}; }
  var justify = (d.justifyKinds || "").split(" ").filter(Boolean);
  var timer = null;
  var asked = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function target() {
    var other = document.getElementById("to_other");
    var to = document.getElementById(d.toField || "to");
    return (other && other.value.trim()) || (to && to.value) || "";
  }

  function show(check) {
    hint.textContent = "";
    if (!check.valid) {
      hint.appendChild(el("p", "error", d.invalid + ": " + (check.message || "")));
      return;
    }
    var head = el("p", "ok");
    head.appendChild(el("span", "mono", check.code));
    head.appendChild(document.createTextNode(" " + (check.title || "") + " · " + d.valid));
    hint.appendChild(head);
    if (!check.hits.length) {
      hint.appendChild(el("p", "muted", d.noCatalog));
      return;
    }
    hint.appendChild(el("p", null, d.inCatalogs + ":"));
    var list = el("ul", "catalog-hits");
    check.hits.forEach(function (h) {
      var item = el("li");
      item.dataset.kind = h.kind;
      var title = d.locale === "en" ? (h.name_en || h.name_zh) : (h.name_zh || h.name_en);
      item.appendChild(document.createTextNode(
        (kindNames[h.kind] || h.kind) + " " + h.entry + " " + title + " (" + h.requirement + ")"));
      if (justify.indexOf(h.kind) >= 0) {
        item.appendChild(document.createTextNode(": "));
        item.appendChild(el("strong", null, d.needsJustification));
      } else if (h.kind === "keep_in_city") {
        item.appendChild(document.createTextNode(": " + d.needsApproval));
      }
      list.appendChild(item);
    });
    hint.appendChild(list);
  }

  function ask() {
    var code = input.value.trim();
    if (!code) { hint.textContent = ""; return; }
    var mine = ++asked;
    var url = "/api/referrals/diagnosis-check?code=" + encodeURIComponent(code);
    var to = target();
    if (to) url += "&to=" + encodeURIComponent(to);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (check) { if (check && mine === asked) show(check); })
      .catch(function () { /* the server checks again when the form is sent */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  }

  input.addEventListener("input", later);
  ["to", "to_other"].forEach(function (id) {
    var field = document.getElementById(id);
    if (field) field.addEventListener("change", later);
  });
})();
