// Renders the math that pymdownx.arithmatex (generic mode) leaves as \( ... \) and \[ ... \],
// with the KaTeX served from assets/katex/ (no CDN). A formula KaTeX cannot render (a syntax
// error or an unknown command) stays as its TeX source and is reported on the console, which
// the docs' browser test treats as a failure.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    ignoredClasses: ["highlight", "md-search"],
    throwOnError: true,
    errorCallback: (message, error) => console.error(message, String(error)),
  });
  void body.offsetHeight; // lay the formulas out, so that their fonts start loading
  const fonts = document.fonts ? document.fonts.ready : Promise.resolve();
  fonts.then(() => {
    fitDisplayMath(body); // measured once KaTeX's fonts are in
    body.dataset.mathTypeset = "done"; // lets the browser test know the page is typeset
  });
});

// A display formula a little wider than a phone's column is shown a little smaller, whole,
// instead of cut off or scrolled sideways (the long formulas of the pages are written on
// several lines, so this only ever shrinks them slightly). At most to 70 %.
function fitDisplayMath(root) {
  for (const display of root.querySelectorAll(".katex-display")) {
    display.style.fontSize = "";
    const box = display.closest(".arithmatex") || display;
    const needed = Math.max(box.scrollWidth, display.scrollWidth), room = box.clientWidth;
    if (room > 0 && needed > room + 1) {
      display.style.fontSize = `${Math.max(0.7, (room - 2) / needed).toFixed(3)}em`;
    }
  }
}
let fitPending = null;
window.addEventListener("resize", () => {
  clearTimeout(fitPending);
  fitPending = setTimeout(() => fitDisplayMath(document.body), 100);
});
