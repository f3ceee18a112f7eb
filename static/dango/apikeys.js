// Copy buttons: <button data-copy-target="ID"> copies the text of the element with that id.
// Loaded as a file because the content security policy forbids inline scripts.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP pages have no Clipboard API; fall back to selecting a temporary field.
  return new Promise(function (resolve, reject) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "absolute";
    field.style.left = "-9999px";
    document.body.appendChild(field);
    field.select();
    var copied = document.execCommand("copy");
    document.body.removeChild(field);
    if (copied) {
      resolve();
    } else {
      reject(new Error("Copying failed: the browser rejected the copy command."));
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    var originalLabel = button.textContent;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      if (!target) {
        return;
      }
      copyText(target.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied-label") || "Copied";
        window.setTimeout(function () { button.textContent = originalLabel; }, 2000);
      }, function () {
        button.textContent = "Copy failed: select the key and copy it by hand";
      });
    });
  });
});
