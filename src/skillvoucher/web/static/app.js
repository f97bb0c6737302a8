// skillvoucher portals: small progressive enhancements; every page works without them.
"use strict";

// Elements with data-confirm ask before their form is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
