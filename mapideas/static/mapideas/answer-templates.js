// The status form's templates: choosing one puts its text, already filled in for this pin
// in the pin's language (the option's data-answer, rendered by the server), in the answer
// box. An answer box still holding the last template inserted, or empty, is replaced; one
// the person wrote in keeps its text, the template's coming after it. Without this script
// the form still works: a template sent with an empty answer is the answer (the server
// renders it the same way).
(function () {
  "use strict";
  var script = document.currentScript;
  var form = script && document.getElementById(script.dataset.form);
  if (!form) return;
  var select = form.querySelector("select[name=template]");
  var answer = form.querySelector("textarea[name=answer]");
  if (!select || !answer) return;
  var inserted = "";
  select.addEventListener("change", function () {
    var option = select.options[select.selectedIndex];
    var text = option ? option.getAttribute("data-answer") : null;
    if (text === null) return;
    var current = answer.value.trim();
    if (current === "" || current === inserted.trim()) {
      answer.value = text;
    } else {
      answer.value = answer.value.replace(/\s+$/, "") + "\n\n" + text;
    }
    inserted = text;
    answer.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
