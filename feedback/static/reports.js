// Report pages: the Print button (a listener here, not an onclick attribute: the
// Content-Security-Policy runs no inline script).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.print")) {
    button.addEventListener("click", () => window.print());
  }
});
