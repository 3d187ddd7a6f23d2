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
  body.dataset.mathTypeset = "done"; // lets the browser test know the page is typeset
});
