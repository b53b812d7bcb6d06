/*
 * Every figure of the book opens alone, full size: each image of a notebook's output (and of a
 * figure directive) is wrapped in a link to its own file, opened in a new tab. The book's
 * matplotlib figures are SVG (nbutils.style), so the reader's zoom keeps them sharp there.
 * Loaded on every page (_config.yml: html_js_files); styled in claims-table.css (4. figures).
 * tests/test_browser.py checks that every figure has its link.
 */
(function () {
  "use strict";
  function wrap() {
    document.querySelectorAll("div.cell_output img, figure img").forEach(function (img) {
      if (img.closest("a")) return;
      var link = document.createElement("a");
      link.className = "figure-zoom";
      link.href = img.currentSrc || img.src;
      link.target = "_blank";
      link.rel = "noopener";
      link.title = "Open the figure alone, full size";
      img.parentNode.insertBefore(link, img);
      link.appendChild(img);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wrap);
  } else {
    wrap();
  }
})();
