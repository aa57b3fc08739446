// The review page's scoring form: a score and a comment per answer, kept in this browser
// (localStorage) between visits, and "download scores.csv" in the format --manual-scores reads.
// Offline, no library. Without it the page is a read-only view (the form stays disabled) and the
// scores file at the end of the page can still be filled in by hand.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  // Per class: pages opened from disk share one storage, so the page's own path is part of the key.
  var prefix = "hw3-grader:review:" + window.location.pathname + ":" + form.getAttribute("data-key") + ":";
  var store = null;
  try { store = window.localStorage; store.getItem(prefix); } catch (e) { store = null; }
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".score-box"));
  var status = document.getElementById("form-status");

  function key(box, what) {
    return prefix + JSON.stringify([box.getAttribute("data-student"), box.getAttribute("data-part"), what]);
  }

  function check(input) {
    var raw = input.value.trim();
    var max = Number(input.getAttribute("max"));
    var ok = raw === "" || (!isNaN(Number(raw)) && Number(raw) >= 0 && Number(raw) <= max);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    var box = input.closest(".score-box");
    box.querySelector(".score-error").hidden = ok;
    return ok;
  }

  function count() {
    var scored = 0, bad = 0;
    boxes.forEach(function (box) {
      var input = box.querySelector("input");
      if (input.value.trim() !== "") { scored += 1; }
      if (input.getAttribute("aria-invalid") === "true") { bad += 1; }
    });
    status.textContent = scored + " of " + boxes.length + " answers scored" + (bad ? "; " + bad + " out of range" : "") +
      (store ? " · kept in this browser" : " · this browser cannot keep them: download before leaving");
  }

  boxes.forEach(function (box) {
    var input = box.querySelector("input");
    var comment = box.querySelector("textarea");
    input.disabled = false;
    comment.disabled = false;
    if (store) {
      var s = store.getItem(key(box, "score")), c = store.getItem(key(box, "comment"));
      if (s !== null) { input.value = s; }
      if (c !== null) { comment.value = c; }
    }
    check(input);
    input.addEventListener("input", function () {
      check(input);
      if (store) { store.setItem(key(box, "score"), input.value); }
      count();
    });
    comment.addEventListener("input", function () {
      if (store) { store.setItem(key(box, "comment"), comment.value); }
    });
  });

  function cell(text) {
    text = String(text).replace(/\r\n|\r|\n/g, " ");
    return /[",]/.test(text) || /^\s|\s$/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  // The student's cell is never a formula to the spreadsheet the file is opened in: the page
  // gives it as the grader quotes it (text.formula_safe), which the grader reads back unquoted.
  function csv() {
    var lines = ["student,part,score,comment"];
    boxes.forEach(function (box) {
      var input = box.querySelector("input");
      var score = input.getAttribute("aria-invalid") === "true" ? "" : input.value.trim();
      lines.push([box.getAttribute("data-student-cell"), box.getAttribute("data-part"), score,
                  box.querySelector("textarea").value.trim()].map(cell).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  var download = document.getElementById("download-scores");
  download.disabled = false;
  download.addEventListener("click", function () {
    var link = document.createElement("a");
    link.href = "data:text/csv;charset=utf-8," + encodeURIComponent(csv());
    link.download = "scores.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
  var clear = document.getElementById("clear-scores");
  clear.disabled = false;
  clear.addEventListener("click", function () {
    if (!window.confirm("Forget every score and comment typed on this page in this browser?")) { return; }
    boxes.forEach(function (box) {
      if (store) { store.removeItem(key(box, "score")); store.removeItem(key(box, "comment")); }
      box.querySelector("input").value = box.querySelector("input").defaultValue;
      box.querySelector("textarea").value = box.querySelector("textarea").defaultValue;
      check(box.querySelector("input"));
    });
    count();
  });
  form.hidden = false;
  count();
})();
